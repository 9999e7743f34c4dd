"""What the dynamic linker will see in an ELF shared object: soname, needed libraries,
runpath, and the symbol-version names it defines.

Two OpenSSLs can live in one process only if their sonames differ (the dynamic linker
reuses an already loaded library of the same soname) and, to be safe against any
interposition, their symbol-version names differ too. The build (build_ffi.py) uses this to
decide how to link a chosen OpenSSL; the import-failure message uses it to name the prefix
the extension was built against. Pure Python (no binutils needed at run time); stdlib only,
so build_ffi.py can load this file on its own before asyncssl is built.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

_DT_NEEDED, _DT_STRTAB, _DT_SONAME, _DT_RPATH, _DT_RUNPATH = 1, 5, 14, 15, 29
_SHT_DYNSYM, _SHT_GNU_VERDEF, _PT_DYNAMIC, _PT_LOAD = 11, 0x6FFFFFFD, 2, 1


@dataclass
class DynamicInfo:
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    version_names: list[str] = field(default_factory=list)  # .gnu.version_d, without the BASE entry


def read_dynamic(path: str | Path) -> DynamicInfo | None:
    """The dynamic section of `path`; None if it is not an ELF file (e.g. a Mach-O dylib)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF":
        return None
    is64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if is64:
        phoff, shoff = struct.unpack_from(end + "QQ", data, 0x20)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(end + "HHHH", data, 0x36)[0:4]
    else:
        phoff, shoff = struct.unpack_from(end + "II", data, 0x1C)
        phentsize, phnum, shentsize, shnum = struct.unpack_from(end + "HHHH", data, 0x2A)[0:4]

    loads, dynamic = [], None
    for i in range(phnum):
        off = phoff + i * phentsize
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(end + "IIQQQQ", data, off)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(end + "IIIII", data, off)
        if p_type == _PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    info = DynamicInfo()
    if dynamic is None:
        return info

    def file_offset(vaddr: int) -> int:
        for base, offset, size in loads:
            if base <= vaddr < base + size:
                return int(vaddr - base + offset)
        raise ValueError(f"address {vaddr:#x} is in no loaded segment")

    entry = "qQ" if is64 else "iI"
    step = struct.calcsize(end + entry)
    entries = [struct.unpack_from(end + entry, data, dynamic[0] + k * step) for k in range(dynamic[1] // step)]
    strtab = next((file_offset(v) for tag, v in entries if tag == _DT_STRTAB), None)
    if strtab is None:
        return info

    def string(offset: int) -> str:
        start = strtab + offset
        return data[start:data.index(b"\0", start)].decode("utf-8", "replace")

    for tag, value in entries:
        if tag == _DT_NEEDED:
            info.needed.append(string(value))
        elif tag == _DT_SONAME:
            info.soname = string(value)
        elif tag in (_DT_RUNPATH, _DT_RPATH):
            info.runpath += [p for p in string(value).split(":") if p]
    info.version_names = _version_definitions(data, end, is64, shoff, shentsize, shnum)
    return info


def _version_definitions(data: bytes, end: str, is64: bool, shoff: int, shentsize: int, shnum: int) -> list[str]:
    sections = []
    for i in range(shnum):
        off = shoff + i * shentsize
        if is64:
            _name, sh_type, _fl, _addr, sh_offset, sh_size, sh_link = struct.unpack_from(end + "IIQQQQI", data, off)
        else:
            _name, sh_type, _fl, _addr, sh_offset, sh_size, sh_link = struct.unpack_from(end + "IIIIIII", data, off)
        sections.append((sh_type, sh_offset, sh_size, sh_link))
    names = []
    for sh_type, offset, _size, link in sections:
        if sh_type != _SHT_GNU_VERDEF:
            continue
        strtab = sections[link][1]
        pos = offset
        while True:
            _ver, flags, _ndx, _cnt, _hash, aux, nxt = struct.unpack_from(end + "HHHHIII", data, pos)
            name_off = struct.unpack_from(end + "I", data, pos + aux)[0]
            start = strtab + name_off
            if not flags & 1:  # VER_FLG_BASE names the file itself
                names.append(data[start:data.index(b"\0", start)].decode("utf-8", "replace"))
            if not nxt:
                break
            pos += nxt
    return names
