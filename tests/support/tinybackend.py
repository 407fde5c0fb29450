"""A PEP 517 build backend in one file, using only the standard library.

pinguard's tests build sdists that real pip must install with no network
access, so each sdist carries this backend (pyproject.toml names it with
backend-path = ["."]) instead of requiring setuptools. It builds a pure
Python wheel of the packages and modules beside it, whose METADATA is the
sdist's PKG-INFO less its Dynamic fields.

tests/support/dist.rs embeds this file into every sdist it builds.
"""

import base64
import hashlib
import os
import re
import tarfile
import zipfile

_HERE = os.path.dirname(os.path.abspath(__file__))
_WHEEL = "Wheel-Version: 1.0\nGenerator: tinybackend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
# Zip members get a fixed date so that builds are reproducible.
_DATE = (1980, 1, 1, 0, 0, 0)


def _pkg_info():
    with open(os.path.join(_HERE, "PKG-INFO"), encoding="utf-8") as f:
        return f.read()


def _field(text, name):
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    raise ValueError("PKG-INFO has no %s field" % name)


def _name_version():
    text = _pkg_info()
    name = re.sub(r"[-_.]+", "_", _field(text, "Name")).lower()
    return name, _field(text, "Version")


def _wheel_metadata():
    # Dynamic says what the sdist's metadata may get wrong; a wheel's
    # METADATA is final, so the field has no place there.
    lines = _pkg_info().splitlines(True)
    return "".join(line for line in lines if not line.lower().startswith("dynamic:"))


def _payload():
    """(archive name, path) of each file to ship: packages and modules."""
    for entry in sorted(os.listdir(_HERE)):
        path = os.path.join(_HERE, entry)
        if os.path.isdir(path) and os.path.exists(os.path.join(path, "__init__.py")):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for file in sorted(files):
                    full = os.path.join(root, file)
                    yield os.path.relpath(full, _HERE).replace(os.sep, "/"), full
        elif entry.endswith(".py") and entry != "tinybackend.py":
            yield entry, path


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "%s,sha256=%s,%d\n" % (arcname, digest.decode("ascii"), len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = "%s-%s.dist-info" % _name_version()
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    for name, text in (("METADATA", _wheel_metadata()), ("WHEEL", _WHEEL)):
        with open(os.path.join(metadata_directory, dist_info, name), "w", encoding="utf-8") as f:
            f.write(text)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version = _name_version()
    dist_info = "%s-%s.dist-info" % (name, version)
    entries = []
    for arcname, path in _payload():
        with open(path, "rb") as f:
            entries.append((arcname, f.read()))
    entries.append((dist_info + "/METADATA", _wheel_metadata().encode("utf-8")))
    entries.append((dist_info + "/WHEEL", _WHEEL.encode("utf-8")))
    record = "".join(_record_line(a, d) for a, d in entries) + dist_info + "/RECORD,,\n"
    entries.append((dist_info + "/RECORD", record.encode("utf-8")))
    filename = "%s-%s-py3-none-any.whl" % (name, version)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as wheel:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, date_time=_DATE)
            info.external_attr = 0o644 << 16
            wheel.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return filename


def _no_bytecode(tarinfo):
    return None if "__pycache__" in tarinfo.name.split("/") else tarinfo


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % _name_version()
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as sdist:
        for entry in sorted(os.listdir(_HERE)):
            path = os.path.join(_HERE, entry)
            sdist.add(path, arcname=base + "/" + entry, filter=_no_bytecode)
    return filename
