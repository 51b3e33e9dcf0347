"""The filesystem skill, inside the sandbox: read, write, list, delete and mkdir under /workspace.

Paths are walked one component at a time from a descriptor of /workspace with O_NOFOLLOW, so a
symbolic link planted anywhere in the workspace is never followed, and `..` never leaves it.
A failure prints {"error": ...} and exits 1.
"""

import contextlib
import errno
import json
import os
import stat
import sys

WORKSPACE = "/workspace"
DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
LIST_LIMIT = 10_000


class Refused(Exception):
    pass


def _parts(path):
    if "\x00" in path or "\\" in path or path.startswith("/"):
        raise Refused("path must be relative to the workspace, with '/' separators")
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise Refused("path must not contain '..'")
    return parts


def _explain(error, path):
    reasons = {
        errno.ELOOP: f"{path!r} is or passes through a symbolic link; links are not followed",
        errno.ENOENT: f"no such file or directory: {path!r}",
        errno.ENOTDIR: f"not a directory: {path!r}",
        errno.EISDIR: f"is a directory: {path!r}",
        errno.EEXIST: f"already exists: {path!r}",
        errno.ENOTEMPTY: f"directory is not empty: {path!r}",
        errno.EACCES: f"permission denied: {path!r}",
        errno.EPERM: f"operation not permitted: {path!r}",
        errno.ENOSPC: "no space left in the workspace",
        errno.ENXIO: f"not a regular file: {path!r}",
    }
    return reasons.get(error.errno, f"{error.strerror or type(error).__name__}: {path!r}")


def _is_link(name, dir_fd):
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def _open_dir(parts, *, create=False):
    """A descriptor of the directory `parts` names, walked without following any link."""
    fd = os.open(WORKSPACE, DIRECTORY)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, DIRECTORY, dir_fd=fd)
            except OSError as exc:
                if _is_link(part, fd):
                    raise Refused(f"{part!r} is a symbolic link; links are not followed") from exc
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_extension(name, extensions):
    extension = name.rsplit(".", 1)[1].lower() if "." in name.lstrip(".") else ""
    if extension not in extensions:
        allowed = ", ".join(sorted(extensions))
        raise Refused(
            f"files of type {('.' + extension) if extension else '(none)'!r} are not allowed; allowed: {allowed}"
        )


def read(parts, params, limits):
    _check_extension(parts[-1], limits["extensions"])
    parent = _open_dir(parts[:-1])
    try:
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    finally:
        os.close(parent)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise Refused(f"not a regular file: {params['path']!r}")
        if info.st_size > limits["read_bytes"]:
            raise Refused(f"file is {info.st_size} bytes, over the {limits['read_bytes']} byte read limit")
        data = handle.read(limits["read_bytes"] + 1)
    if len(data) > limits["read_bytes"]:
        raise Refused(f"file is over the {limits['read_bytes']} byte read limit")
    try:
        content = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(f"not a UTF-8 text file: {params['path']!r}") from None
    return {"path": params["path"], "content": content, "size": len(data)}


def write(parts, params, limits):
    _check_extension(parts[-1], limits["extensions"])
    data = params["content"].encode("utf-8")
    if len(data) > limits["write_bytes"]:
        raise Refused(f"content is {len(data)} bytes, over the {limits['write_bytes']} byte write limit")
    # Like `mkdir -p`: missing folders are made on the way, still without following any link.
    parent = _open_dir(parts[:-1], create=True)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        fd = os.open(parts[-1], flags, 0o644, dir_fd=parent)
    finally:
        os.close(parent)
    with os.fdopen(fd, "wb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise Refused(f"not a regular file: {params['path']!r}")
        handle.truncate(0)
        handle.write(data)
    return {"path": params["path"], "size": len(data)}


def _kind(entry):
    if entry.is_symlink():
        return "symlink"
    if entry.is_dir(follow_symlinks=False):
        return "directory"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return "other"


def list_(parts, params, limits):
    fd = _open_dir(parts)
    try:
        entries = []
        truncated = False
        for entry in os.scandir(fd):
            if len(entries) >= LIST_LIMIT:
                truncated = True
                break
            kind = _kind(entry)
            item = {"name": entry.name, "type": kind}
            if kind == "file":
                item["size"] = entry.stat(follow_symlinks=False).st_size
            entries.append(item)
    finally:
        os.close(fd)
    entries.sort(key=lambda item: item["name"])
    return {"path": params["path"], "entries": entries, "truncated": truncated}


def delete(parts, params, limits):
    parent = _open_dir(parts[:-1])
    try:
        info = os.stat(parts[-1], dir_fd=parent, follow_symlinks=False)
        if stat.S_ISDIR(info.st_mode):
            os.rmdir(parts[-1], dir_fd=parent)
            return {"path": params["path"], "deleted": "directory"}
        if stat.S_ISREG(info.st_mode):
            _check_extension(parts[-1], limits["extensions"])
        # A symbolic link is removed itself, never what it points to.
        os.unlink(parts[-1], dir_fd=parent)
    finally:
        os.close(parent)
    return {"path": params["path"], "deleted": "symlink" if stat.S_ISLNK(info.st_mode) else "file"}


def mkdir(parts, params, limits):
    os.close(_open_dir(parts, create=True))
    return {"path": params["path"], "created": True}


OPERATIONS = {"read": read, "write": write, "list": list_, "delete": delete, "mkdir": mkdir}


def main():
    job = json.load(sys.stdin)
    params, limits = job["params"], job["limits"]
    try:
        parts = _parts(params["path"])
        if not parts and params["operation"] != "list":
            raise Refused("path names the workspace itself")
        result = OPERATIONS[params["operation"]](parts, params, limits)
    except Refused as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(_explain(exc, params["path"]))
    json.dump(result, sys.stdout)
    return 0


def _fail(message):
    json.dump({"error": message}, sys.stdout)
    return 1


sys.exit(main())
