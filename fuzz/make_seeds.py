#!/usr/bin/env python3
"""Regenerates fuzz/seeds/ (committed, so that nothing needs ../shared to fuzz or to test).

Usage: python3 fuzz/make_seeds.py /work/shared/data

Seeds are real files, kept small: lines of OpenStack's constraints and global requirements,
simple pages of the index snapshot (HTML as served; JSON as PEP 691 would give the same files),
core metadata built from the snapshot's JSON API documents, the repository's own metadata
fixtures, a lock the tests snapshot, and small wheels and zip sdists holding that metadata.
"""

import io
import json
import pathlib
import shutil
import sys
import zipfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
SEEDS = ROOT / "fuzz" / "seeds"
PROJECTS = ["six", "pbr", "oslo-config", "requests", "simplegeneric", "ply", "ddt", "routes"]


def write(target, name, data):
    path = SEEDS / target / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


def requirements(data):
    for name in ["upper-constraints-master.txt", "global-requirements-master.txt"]:
        lines = (data / "openstack" / name).read_text().splitlines()
        write("requirements", name, "\n".join(lines[:80]) + "\n")
    # One short line: mutations of a short seed reach each of its seams often.
    write("requirements", "one-line.txt", "six===1.17.0 ; python_version>='3.10' and os_name=='posix'\n")
    write(
        "requirements",
        "options.txt",
        "--index-url https://user:${FUZZ}@example.org/simple\n-c other.txt\n"
        "oslo.config===10.7.0;python_version>='3.10'\nsix===1.17.0:python_version<'3'\n"
        "pbr==6.1.0 \\\n    --hash=sha256:" + "a" * 64 + "\nrequests[socks]>=2.0\n# comment\n",
    )


def pages(data):
    for project in PROJECTS:
        html = data / "index-snapshot" / "simple" / project / "index.html"
        api = data / "index-snapshot" / "pypi" / project / "json"
        if not html.exists() or not api.exists():
            continue
        write("html_page", f"{project}.html", html.read_bytes())
        doc = json.loads(api.read_text())
        files = []
        for release in doc["releases"].values():
            for f in release:
                files.append({
                    "filename": f["filename"],
                    "url": f["url"],
                    "hashes": {"sha256": f["digests"]["sha256"]},
                    "requires-python": f.get("requires_python"),
                    "yanked": f.get("yanked_reason") or f.get("yanked", False),
                    "size": f.get("size"),
                    "upload-time": f.get("upload_time_iso_8601"),
                    "core-metadata": f.get("core-metadata", False),
                })
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": files}
        write("json_page", f"{project}.json", json.dumps(page, indent=1))


def core_metadata(data):
    metadata = {}
    for project in PROJECTS:
        api = data / "index-snapshot" / "pypi" / project / "json"
        if not api.exists():
            continue
        info = json.loads(api.read_text())["info"]
        lines = ["Metadata-Version: 2.1", f"Name: {info['name']}", f"Version: {info['version']}"]
        if info.get("requires_python"):
            lines.append(f"Requires-Python: {info['requires_python']}")
        lines += [f"Provides-Extra: {e}" for e in info.get("provides_extra") or []]
        lines += [f"Requires-Dist: {r}" for r in info.get("requires_dist") or []]
        text = "\n".join(lines) + "\n\nDescription.\n"
        metadata[project] = text
        write("core_metadata", f"{project}.METADATA", text)
    for fixture in (ROOT / "tests" / "fixtures" / "metadata").iterdir():
        write("core_metadata", fixture.name, fixture.read_bytes())
    return metadata


def zips(metadata):
    for project, text in list(metadata.items())[:4]:
        wheel = io.BytesIO()
        with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("pkg/__init__.py", "")
            z.writestr("pkg-1.0.dist-info/METADATA", text)
            z.writestr("pkg-1.0.dist-info/RECORD", "")
        write("zip", f"{project}.whl", wheel.getvalue())
        sdist = io.BytesIO()
        with zipfile.ZipFile(sdist, "w", zipfile.ZIP_STORED) as z:
            z.writestr("pkg-1.0/PKG-INFO", text)
            z.writestr("pkg-1.0/pkg.egg-info/requires.txt", "six>=1\n[extra]\nddt\n")
        write("zip", f"{project}.sdist.zip", sdist.getvalue())


def lock():
    snap = (ROOT / "tests" / "snapshots" / "lock__small_index_lock.snap").read_text()
    body = snap.split("---\n", 2)[2].replace("[INDEX]", "127.0.0.1:8000")
    write("lock", "small_index.pylock.toml", body)
    write("lock", "dependencies.pylock.toml", DEPENDENCIES_LOCK)


# What `lock --dependencies --python 3.12` writes, with a marker and environments.
DEPENDENCIES_LOCK = """lock-version = "1.0"
environments = ["python_full_version == '3.12.*'"]
requires-python = ">=3.10"
created-by = "pinguard"

[[packages]]
name = "app"
version = "1.0"
marker = "python_version >= '3.10'"
index = "http://127.0.0.1:8000/simple"
sdist = { name = "app-1.0.tar.gz", url = "http://127.0.0.1:8000/files/app-1.0.tar.gz", size = 900, hashes = { sha256 = "%s" } }
wheels = [
    { name = "app-1.0-py3-none-any.whl", url = "http://127.0.0.1:8000/files/app-1.0-py3-none-any.whl", size = 877, upload-time = 2024-01-01T00:00:00.0Z, hashes = { sha256 = "%s" } },
]
dependencies = [
    { name = "lib" },
]

[packages.tool.pinguard]
requires-dist = [
    "lib>=1",
    "winonly; sys_platform == 'win32'",
]
dependencies-from = "wheel"
dependencies-file = "app-1.0-py3-none-any.whl"

[[packages]]
name = "lib"
version = "1.5"
index = "http://127.0.0.1:8000/simple"
wheels = [
    { name = "lib-1.5-py3-none-any.whl", url = "http://127.0.0.1:8000/files/lib-1.5-py3-none-any.whl", size = 843, hashes = { sha256 = "%s" } },
]

[tool.pinguard]
source = "upper-constraints.txt"
source-sha256 = "%s"
""" % ("1" * 64, "2" * 64, "3" * 64, "4" * 64)


def main():
    data = pathlib.Path(sys.argv[1])
    shutil.rmtree(SEEDS, ignore_errors=True)
    requirements(data)
    pages(data)
    zips(core_metadata(data))
    lock()


main()
