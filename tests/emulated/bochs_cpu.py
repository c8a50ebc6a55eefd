"""Run a function of a freestanding shared object on an emulated x86-64 CPU.

The engine's kernels for CPU features this machine may lack (AVX512-BF16)
are tested by running them on Bochs' CPU emulator, through the
bochscpu-python wheel (PyPI, tests/requirements.txt). Two things stand
between that wheel and this use, both mended on a private copy of it:

- its emulated CPU is a Tiger Lake, which has AVX-512 but not AVX512-BF16;
  the copy's default model is a Sapphire Rapids (two immediate operands in
  the code that declares the "cpu.model" setting: the count of models and
  the default's index), checked against the one build of the wheel whose
  bytes are known here;
- it is linked against a newer C library than Debian 12's: it asks for
  `__isoc23_strtoull` and `__isoc23_sscanf`, which a small shim library
  supplies (the C23 forms differ only in accepting binary literals).

`Machine(so_path)` maps the object's loadable segments, applies its
relocations (relative ones, and those to its own symbols), gives it a stack and a heap, and `call(name, arg)`
runs a function in 64-bit mode with AVX-512 enabled until it returns.
Everything here is for tests; `unavailable()` says why it cannot run.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

WHEEL_VERSION = "0.4.0"
# The wheel's extension for CPython 3.11 on manylinux_2_28 x86-64, and the
# two bytes to change in it: (file offset, byte expected, byte wanted).
KNOWN_SHA256 = "a872ef067d57b4d9de17370e1e26a41e2790960518729363627adb50fbd035fe"
MODEL_PATCH = [(0x44A6FE, 0x1C, 0x1F),  # mov r8d, 28 -> 31 models
               (0x44A704, 0x1B, 0x1E)]  # mov r9d, 27 -> 30: sapphire_rapids

SHIM_C = r"""
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
unsigned long long __isoc23_strtoull(const char* s, char** end, int base) { return strtoull(s, end, base); }
int __isoc23_sscanf(const char* s, const char* fmt, ...) {
  va_list ap; va_start(ap, fmt); int r = vsscanf(s, fmt, ap); va_end(ap); return r;
}
"""


def _installed_extension() -> Path | None:
    spec = importlib.util.find_spec("bochscpu")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0])
    found = sorted(folder.glob("_bochscpu*.so"))
    return found[0] if found else None


def unavailable() -> str | None:
    """Why the emulator cannot run here, or None when it can."""
    if sys.platform != "linux" or sysconfig.get_platform() != "linux-x86_64":
        return f"the emulator's wheel is for Linux x86-64 (this is {sysconfig.get_platform()})"
    try:
        version = importlib.metadata.version("bochscpu-python")
    except importlib.metadata.PackageNotFoundError:
        return "bochscpu-python is not installed (tests/requirements.txt installs it on CPython 3.11)"
    if version != WHEEL_VERSION:
        return f"bochscpu-python {version} is installed; the CPU model patch is known for {WHEEL_VERSION} only"
    ext = _installed_extension()
    if ext is None:
        return "bochscpu-python has no extension module"
    digest = hashlib.sha256(ext.read_bytes()).hexdigest()
    if digest != KNOWN_SHA256:
        return f"{ext.name} is another build (sha256 {digest[:12]}...) than the one whose CPU model patch is known"
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler for the emulator's C library shim"
    return None


def prepare(folder: Path) -> Path:
    """A patched copy of the bochscpu package and the shim in `folder`; the
    folder to put first on sys.path (see the module's comment)."""
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    ext = _installed_extension()
    copy = folder / "bochscpu"
    if copy.exists():
        shutil.rmtree(copy)
    shutil.copytree(ext.parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    data = bytearray((copy / ext.name).read_bytes())
    for offset, before, after in MODEL_PATCH:
        if data[offset] != before:
            raise RuntimeError(f"{ext.name}: byte {offset:#x} is {data[offset]:#x}, expected {before:#x}")
        data[offset] = after
    (copy / ext.name).write_bytes(bytes(data))
    (folder / "isoc23_shim.c").write_text(SHIM_C)
    compiler = shutil.which("cc") or shutil.which("gcc")
    subprocess.run([compiler, "-O2", "-fPIC", "-shared", "-o", str(folder / "isoc23_shim.so"),
                    str(folder / "isoc23_shim.c")], check=True)
    return folder


def build_freestanding(sources, out: Path, include_dirs=(), flags=()) -> Path:
    """Compiles C++ sources into a shared object without the C library or
    the C++ runtime (no exceptions, no RTTI; what the code needs of those,
    the sources define), as Machine loads them."""
    compiler = shutil.which("c++") or shutil.which("g++")
    if compiler is None:
        raise RuntimeError("no C++ compiler")
    subprocess.run([compiler, "-std=c++17", "-O2", "-fPIC", "-shared", "-nostdlib", "-fvisibility=hidden",
                    "-fno-exceptions", "-fno-rtti", "-fno-asynchronous-unwind-tables",
                    *flags, *[f"-I{d}" for d in include_dirs], *map(str, sources), "-o", str(out)], check=True)
    return out


def build_kernels(root: Path, out: Path) -> Path:
    """The engine's AVX-512 product kernels with their entry
    (kernels_entry.cpp), from the source tree at `root`, compiled for a
    Skylake-X (AVX-512, FMA): the fp32 kernel as an AVX-512 build of the
    engine has it, and the AVX512-BF16 kernel with its own target."""
    functions = root / "cpp" / "src" / "functions"
    sources = [Path(__file__).resolve().parent / "kernels_entry.cpp"] + \
        [functions / f for f in ("gemm_kernel.cpp", "gemm_dot.cpp", "gemm_kernel_dpbf16.cpp")]
    return build_freestanding(sources, out, [root / "cpp" / "include", functions], ["-march=skylake-avx512"])


def _elf(path: str):
    """The PT_LOAD segments (vaddr, bytes, memsz), the defined symbols
    (name -> vaddr) and the relocations to apply, as (offset, value relative
    to the load address): R_X86_64_RELATIVE, and R_X86_64_64, GLOB_DAT and
    JUMP_SLOT against a symbol the object defines (its own calls through
    the PLT). Relocations against undefined symbols are left: what uses
    them faults with the offset."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError(f"{path}: not a 64-bit ELF file")
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 0x20)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 0x36)
    loads = []
    for i in range(e_phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = struct.unpack_from("<IIQQQQQQ", data, e_phoff + i * e_phentsize)
        if p_type == 1:
            loads.append((p_vaddr, data[p_offset:p_offset + p_filesz], p_memsz))
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]

    def symbol_table(index):
        _, _, _, _, sh_offset, sh_size, sh_link, _, _, _ = sections[index]
        strtab = sections[sh_link][4]
        table = []
        for off in range(sh_offset, sh_offset + sh_size, 24):
            st_name, _, _, _, st_value, _ = struct.unpack_from("<IBBHQQ", data, off)
            table.append((data[strtab + st_name:data.index(b"\0", strtab + st_name)].decode(), st_value))
        return table

    symbols, relocations = {}, []
    for index, (_, sh_type, *_rest) in enumerate(sections):
        if sh_type in (2, 11):  # SHT_SYMTAB, SHT_DYNSYM
            symbols.update({name: value for name, value in symbol_table(index) if name and value})
    for sh in sections:
        if sh[1] != 4:  # SHT_RELA
            continue
        table = symbol_table(sh[6])
        for off in range(sh[4], sh[4] + sh[5], 24):
            r_offset, r_info, r_addend = struct.unpack_from("<QQq", data, off)
            kind, value = r_info & 0xFFFFFFFF, table[r_info >> 32][1]
            if kind == 8:  # R_X86_64_RELATIVE
                relocations.append((r_offset, r_addend))
            elif kind in (1, 6, 7) and value:  # R_X86_64_64, GLOB_DAT, JUMP_SLOT to its own symbol
                relocations.append((r_offset, value + (r_addend if kind == 1 else 0)))
    return loads, symbols, relocations


class Machine:
    """One emulated CPU (a Sapphire Rapids) running one shared object.
    Bochs' guest memory is process-wide: one Machine per process."""

    BASE, RET, STACK, HEAP = 0x4000_0000, 0x6000_0000, 0x7000_0000, 0x1_0000_0000
    STACK_PAGES = 16

    def __init__(self, so_path: str, heap_bytes: int = 64 << 20):
        import bochscpu
        import bochscpu.cpu
        import bochscpu.memory
        self._b = bochscpu
        self.page = bochscpu.memory.page_size()
        self.session = bochscpu.Session()
        self.session.missing_page_handler = self._missing_page
        self.table = bochscpu.memory.PageMapLevel4Table()
        self._next_gpa = 0x100_0000
        loads, self.symbols, relocations = _elf(so_path)
        for vaddr, _, memsz in loads:
            self._map(self.BASE + vaddr, memsz)
        self._map(self.RET, self.page)
        self._map(self.STACK, self.STACK_PAGES * self.page)
        self._map(self.HEAP, heap_bytes)
        self.heap_end, self.heap_limit = self.HEAP, self.HEAP + heap_bytes
        self.pml4 = 0x10_0000
        for hva, gpa in self.table.commit(self.pml4):
            bochscpu.memory.page_insert(gpa, hva)
        for vaddr, blob, _ in loads:
            self.write(self.BASE + vaddr, blob)
        for offset, value in relocations:
            self.write(self.BASE + offset, struct.pack("<Q", self.BASE + value))
        self.write(self.RET, b"\x0f\x0b")  # ud2: where the called function returns to

    @staticmethod
    def _missing_page(gpa):
        raise RuntimeError(f"the emulated code touched unmapped memory (guest physical {gpa:#x})")

    def _map(self, va: int, size: int):
        for page in range(va & ~(self.page - 1), va + size, self.page):
            if self.table.translate(page) is None:
                hva = self._b.memory.allocate_host_page()
                gpa, self._next_gpa = self._next_gpa, self._next_gpa + self.page
                self._b.memory.page_insert(gpa, hva)
                self.table.insert(page, gpa, 1)

    def write(self, va: int, blob: bytes):
        blob = bytes(blob)
        for i in range(0, len(blob), self.page):
            if not self._b.memory.virt_write(self.pml4, va + i, list(blob[i:i + self.page])):
                raise RuntimeError(f"cannot write guest memory at {va + i:#x}")

    def read(self, va: int, n: int) -> bytes:
        out = bytearray()
        for i in range(0, n, self.page):
            out += bytes(self._b.memory.virt_read(self.pml4, va + i, min(self.page, n - i)))
        return bytes(out)

    def reset_heap(self):
        self.heap_end = self.HEAP

    def alloc(self, blob_or_size, align: int = 64) -> int:
        """Guest address of a new block holding `blob` (or `size` bytes)."""
        n = blob_or_size if isinstance(blob_or_size, int) else len(blob_or_size)
        addr = (self.heap_end + align - 1) & ~(align - 1)
        if addr + n > self.heap_limit:
            raise MemoryError(f"the emulated heap has {self.heap_limit - addr} bytes left, {n} asked")
        self.heap_end = addr + n
        if not isinstance(blob_or_size, int):
            self.write(addr, blob_or_size)
        return addr

    def call(self, name: str, arg: int = 0, count: bool = False) -> int:
        """Runs name(arg) (one pointer or integer argument) to its return;
        an exception of the emulated CPU (e.g. #UD, 6: an instruction it
        lacks) is raised as RuntimeError with the offset in the object.
        Returns the count of instructions run when `count` (slow: one
        Python call per instruction), else 0."""
        b = self._b
        state = b.State()
        b.cpu.set_long_mode(state)
        state.cr3 = self.pml4
        state.cr4 = state.cr4 | (1 << 18) | (1 << 10) | (1 << 9)  # OSXSAVE, OSXMMEXCPT, OSFXSR
        state.xcr0 = 0xE7  # x87, SSE, AVX, opmask, the zmm registers' upper halves, zmm16-31
        state.mxcsr = 0x1F80  # as a process starts: every floating-point exception masked
        state.fpcw = 0x037F
        rsp = self.STACK + (self.STACK_PAGES - 1) * self.page - 8  # as after a call: rsp + 8 16-byte aligned
        self.write(rsp, struct.pack("<Q", self.RET))
        state.rsp, state.rip, state.rdi = rsp, self.BASE + self.symbols[name], arg
        code, data = b.Segment(), b.Segment()
        for seg, selector, attr in ((code, 0x33, 0x22FB), (data, 0x2B, 0xCF3)):
            seg.present, seg.selector, seg.base, seg.limit, seg.attr = True, selector, 0, 0xFFFF_FFFF, attr
        state.cs = code
        state.ds = state.ss = state.es = state.fs = state.gs = data
        self.session.cpu.state = state
        stop = {}

        def on_exception(session, cpu_id, vector, error_code):
            stop["vector"], stop["rip"] = int(vector), session.cpu.state.rip
            session.stop()

        executed = [0]

        def after(session, cpu_id, instruction):
            executed[0] += 1

        hook = b.Hook()
        hook.exception = on_exception
        if count:
            hook.after_execution = after
        self.session.run([hook])
        rip = stop.get("rip")
        if rip not in (self.RET, self.RET + 2):  # the ud2 at the return address: returned
            where = f"offset {rip - self.BASE:#x} of the object (the instruction before it, for a fault)" if rip is not None else "an unknown place"
            raise RuntimeError(f"{name}: the emulated CPU raised exception {stop.get('vector')} at {where}")
        return executed[0]


def load_patched(folder: str):
    """Imports the patched copy prepared in `folder` (call once, before any
    other import of bochscpu in the process)."""
    import ctypes
    ctypes.CDLL(os.path.join(folder, "isoc23_shim.so"), mode=ctypes.RTLD_GLOBAL)
    sys.path.insert(0, folder)
    import bochscpu  # noqa: F401
    if not str(Path(bochscpu.__file__).resolve()).startswith(str(Path(folder).resolve())):
        raise RuntimeError(f"bochscpu was imported from {bochscpu.__file__}, not the patched copy in {folder}")
