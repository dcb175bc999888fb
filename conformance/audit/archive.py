"""The bundle's container: a deterministic tar.gz, written canonically and read defensively.

Writing: entries sorted by name, regular files only, mode 0644, owner 0/0 with no names, mtime 0; the gzip header
is fixed (no file name, mtime 0, OS 255), so the same files always make the same bytes on one machine.

Reading treats the file as hostile (a bundle comes from someone else):
- the gzip header must be exactly the canonical one, the deflate stream is inflated by bounded steps (a gzip bomb
  is refused when its output passes `Limits.total_bytes`, long before memory runs out), and its CRC-32 and length
  trailer must match with nothing after it; anything after the tar end-of-archive blocks must be zeros;
- only regular files; no symlinks, hard links, devices or directories; names are relative, without `..`, `.`,
  empty parts, backslashes or control characters; no name twice, no name that is another's folder;
- at most `Limits.entries` files and `Limits.file_bytes` per file.
Any breach raises `BundleError` naming it; nothing is written outside the destination folder.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tarfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from conformance.errors import BundleError

__all__ = ["GZIP_HEADER", "Limits", "check_name", "read_archive", "write_archive"]

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no flags, mtime 0, no extra flags, OS unknown
CHUNK = 1 << 16
MAX_NAME = 1024


@dataclass(frozen=True)
class Limits:
    entries: int = 100_000
    file_bytes: int = 1 << 30  # 1 GiB per file
    total_bytes: int = 4 << 30  # 4 GiB decompressed in all


def check_name(name: str) -> str | None:
    """Why `name` may not be an entry of a bundle, or None when it may."""
    if not name or len(name) > MAX_NAME:
        return "an empty or overlong name"
    if name.startswith("/") or "\\" in name or any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "an absolute name, a backslash or a control character"
    if any(part in ("", ".", "..") for part in name.split("/")):
        return "an empty, '.' or '..' path part"
    return None


class _Deflater:
    """A write-only file object that gzips what is written to `out` (canonical header, raw deflate, trailer)."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.crc = 0
        self.size = 0
        out.write(GZIP_HEADER)

    def write(self, data: bytes) -> int:
        self.crc = zlib.crc32(data, self.crc)
        self.size += len(data)
        self.out.write(self.compressor.compress(data))
        return len(data)

    def finish(self) -> None:
        self.out.write(self.compressor.flush())
        self.out.write(struct.pack("<II", self.crc & 0xFFFFFFFF, self.size & 0xFFFFFFFF))


def write_archive(path: Path, entries: Iterable[tuple[str, bytes | Path]]) -> Path:
    """Write the entries (name -> bytes, or a file to copy) as a canonical tar.gz, atomically."""
    items = sorted(entries, key=lambda item: item[0])
    names = [name for name, _ in items]
    if len(set(names)) != len(names):
        raise BundleError("two files with one name in the bundle", file=str(path), fix="report this harness bug")
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as raw:
            deflater = _Deflater(raw)
            with tarfile.open(fileobj=deflater, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
                for name, content in items:
                    info = tarfile.TarInfo(name)
                    info.mode, info.mtime, info.uid, info.gid, info.uname, info.gname = 0o644, 0, 0, 0, "", ""
                    if isinstance(content, Path):
                        info.size = content.stat().st_size
                        with content.open("rb") as fh:
                            tar.addfile(info, fh)
                    else:
                        info.size = len(content)
                        tar.addfile(info, io.BytesIO(content))
            deflater.finish()
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BundleError(f"cannot write the bundle: {exc.strerror}", file=str(path),
                          fix="choose a writable place with -o") from None
    return path


class _Inflater:
    """A read-only file object over a canonical gzip file, inflating at most CHUNK bytes per step."""

    def __init__(self, raw: BinaryIO, limits: Limits, where: str) -> None:
        self.raw, self.limits, self.where = raw, limits, where
        self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.buffer = bytearray()
        self.total = 0
        self.crc = 0
        self.done = False
        if raw.read(len(GZIP_HEADER)) != GZIP_HEADER:
            raise self.refuse("not a bundle archive (its gzip header is not the canonical one a bundle has)")

    def refuse(self, why: str) -> BundleError:
        return BundleError(why, file=self.where, fix="ask the sender for the bundle again; this one cannot be trusted")

    def _step(self) -> None:
        data = self.inflater.unconsumed_tail or self.raw.read(CHUNK)
        if not data:
            raise self.refuse("truncated (the compressed stream ends early)")
        out = self.inflater.decompress(data, CHUNK)
        self.total += len(out)
        if self.total > self.limits.total_bytes:
            raise self.refuse(f"decompresses to more than {self.limits.total_bytes} bytes: refused (a compression "
                              "bomb, or a bundle bigger than this verifier's limit)")
        self.crc = zlib.crc32(out, self.crc)
        self.buffer += out
        if self.inflater.eof:
            trailer = self.inflater.unused_data + self.raw.read(9)
            if len(trailer) != 8 or trailer != struct.pack("<II", self.crc & 0xFFFFFFFF, self.total & 0xFFFFFFFF):
                raise self.refuse("corrupt: the gzip checksum or length does not match its content, or data follows")
            self.done = True

    def read(self, size: int = -1) -> bytes:
        while not self.done and (size < 0 or len(self.buffer) < size):
            self._step()
        size = len(self.buffer) if size < 0 else min(size, len(self.buffer))
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def drain(self) -> None:
        """Read to the end: the CRC is checked there; what follows the tar end must be zeros."""
        while not self.done or self.buffer:
            if self.buffer.strip(b"\0"):
                raise self.refuse("data after the end of the archive")
            self.buffer.clear()
            if not self.done:
                self._step()


def read_archive(path: Path, dest: Path, limits: Limits | None = None) -> dict[str, str]:
    """Extract the bundle's files into `dest` (an empty folder); return {name: sha256 hex} of what was written."""
    limits = limits or Limits()
    where = str(path)
    digests: dict[str, str] = {}
    folders: set[str] = set()
    try:
        with path.open("rb") as raw:
            inflater = _Inflater(raw, limits, where)
            with tarfile.open(fileobj=inflater, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    name = member.name
                    why = check_name(name)
                    if why:
                        raise inflater.refuse(f"entry {name[:80]!r}: {why}")
                    if not member.isreg():
                        raise inflater.refuse(f"entry {name!r} is not a regular file (links, folders and devices "
                                              "are refused)")
                    if len(digests) >= limits.entries:
                        raise inflater.refuse(f"more than {limits.entries} entries")
                    if member.size > limits.file_bytes:
                        raise inflater.refuse(f"entry {name!r} is larger than {limits.file_bytes} bytes")
                    parents = {"/".join(name.split("/")[:i]) for i in range(1, name.count("/") + 1)}
                    if name in digests or name in folders or parents & digests.keys():
                        raise inflater.refuse(f"entry {name!r} appears twice or clashes with a folder")
                    folders |= parents
                    digests[name] = _extract(tar, member, dest / name, inflater)
            inflater.drain()
    except BundleError:
        raise
    except FileNotFoundError:
        raise BundleError("no such file", file=where, fix="give the path of a .tar.gz bundle") from None
    except IsADirectoryError:
        raise BundleError("a folder, not a bundle", file=where, fix="give the path of a .tar.gz bundle") from None
    except Exception as exc:  # hostile input may break tarfile in any way: refuse, never a traceback
        raise BundleError(f"not a readable bundle archive ({type(exc).__name__}: {str(exc)[:120]})", file=where,
                          fix="ask the sender for the bundle again; this one cannot be trusted") from None
    return digests


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path, inflater: _Inflater) -> str:
    source = tar.extractfile(member)
    if source is None:  # pragma: no cover - regular files always have content
        raise inflater.refuse(f"entry {member.name!r} has no content")
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    written = 0
    with target.open("xb") as out:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            digest.update(chunk)
            out.write(chunk)
    if written != member.size:
        raise inflater.refuse(f"entry {member.name!r} is truncated")
    return digest.hexdigest()
