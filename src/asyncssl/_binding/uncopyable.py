"""``Uncopyable``: wrapper objects that own an OpenSSL object refuse copy, deepcopy and pickle.

A copy would be a second Python object for one native object (closing one would close
"both"), and a deepcopy or an unpickled object cannot duplicate OpenSSL state: a clear
TypeError is better than either.
"""

from __future__ import annotations

from typing import Any, NoReturn


class Uncopyable:
    __slots__ = ()

    def _refuse_copy(self) -> TypeError:
        kind = type(self).__name__
        return TypeError(f"asyncssl.SSL.{kind} objects cannot be copied or pickled: each owns an OpenSSL object; "
                         f"create a new {kind} instead")

    def __copy__(self) -> NoReturn:
        raise self._refuse_copy()

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise self._refuse_copy()

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise self._refuse_copy()
