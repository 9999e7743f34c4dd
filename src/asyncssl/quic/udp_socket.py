"""The UDP socket of a QUIC connection or listener: checked, attached, watched.

The socket-ownership rule (issue 10, fault 11): OpenSSL never reads or writes a
descriptor number the caller controls. The caller's socket stays the caller's; the QUIC
object gets its own duplicate of the fd, owned by OpenSSL (see ``attach_udp_socket``).
"""

from __future__ import annotations

import os
import socket

from .._binding import CData, ffi, lib
from .._binding.errors import Error
from .errors import quic_error_from_queue

__all__ = ["check_udp_socket", "attach_udp_socket", "check_socket_open"]


def check_udp_socket(udp_socket: object) -> bool:
    """Validate a UDP socket for QUIC; make it non-blocking. Returns whether it was blocking."""
    if not isinstance(udp_socket, socket.socket):
        raise TypeError(f"QUIC needs a socket.socket of type SOCK_DGRAM, not {type(udp_socket).__name__}")
    if udp_socket.type != socket.SOCK_DGRAM:
        raise TypeError("QUIC runs over UDP: pass a socket.socket(AF_INET or AF_INET6, SOCK_DGRAM)")
    if udp_socket.fileno() < 0:
        raise ValueError("the UDP socket is closed")
    was_blocking = udp_socket.getblocking()
    # OpenSSL drives the network BIO non-blocking itself (quic_impl.c calls BIO_set_nbio);
    # doing it here too keeps Python's view of the socket truthful.
    udp_socket.setblocking(False)
    return was_blocking


def attach_udp_socket(ptr: CData, udp_socket: socket.socket) -> int:
    """Give the QUIC object `ptr` its own duplicate of `udp_socket`'s fd; returns that fd.

    The socket-ownership rule (issue 10, fault 11): OpenSSL never writes to a descriptor
    number the caller controls. The duplicate belongs to a datagram BIO made with
    ``BIO_CLOSE``, so OpenSSL closes it when it frees the BIO, i.e. when the last
    reference to the connection or listener goes (streams included), and not a moment
    earlier. If the caller closes `udp_socket` and the number is reused, OpenSSL's packets
    still go out on the original socket, never into the unrelated one; the Python objects
    notice the close (``check_socket_open``) and raise instead of carrying on.
    (``SSL_set_fd`` would make the same datagram BIO with ``BIO_NOCLOSE`` on the caller's
    number.)
    """
    fd = os.dup(udp_socket.fileno())   # non-inheritable (O_CLOEXEC), like Python's own fds
    bio = lib.BIO_new_dgram(fd, lib.BIO_CLOSE)
    if bio == ffi.NULL:
        os.close(fd)
        raise quic_error_from_queue(None, "BIO_new_dgram")
    lib.SSL_set_bio(ptr, bio, bio)     # one reference for both directions; the SSL* owns it
    return fd


def check_socket_open(udp_socket: socket.socket, what: str) -> None:
    """Raise if the caller closed the UDP socket a QUIC object was made with."""
    if udp_socket.fileno() < 0:
        raise Error(f"the UDP socket of this QUIC {what} was closed (socket.close()): it cannot send or "
                    f"receive any more; close() the {what} (and keep the socket open while it is in use)")
