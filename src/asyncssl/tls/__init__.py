"""TLS and DTLS: ``Context`` and ``Connection`` (the object layer QUIC and offload plug into), sessions, certificates, trust."""
