"""The example project's build backend (PEP 517 and PEP 660), standard library only.

A real OpenStack project builds with pbr and setuptools; lock those too (list them in a
requirements file given to `pinguard install -r`) so that they also come from verified files.
This example keeps its backend in the tree so that it installs with no index at all.
"""

import base64
import hashlib
import os
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_NAME, _VERSION = "example_service", "0.1.0"
_DIST_INFO = "%s-%s.dist-info" % (_NAME, _VERSION)


def _requirements():
    with open(os.path.join(_ROOT, "requirements.txt"), encoding="utf-8") as f:
        lines = (line.split("#")[0].strip() for line in f)
        return [line for line in lines if line]


def _metadata():
    lines = ["Metadata-Version: 2.1", "Name: example-service", "Version: " + _VERSION]
    lines += ["Requires-Dist: " + requirement for requirement in _requirements()]
    return "\n".join(lines) + "\n"


def _wheel(directory, files):
    """Writes a wheel of `files` (archive name -> bytes) and returns its file name."""
    files = dict(files)
    files[_DIST_INFO + "/METADATA"] = _metadata().encode()
    files[_DIST_INFO + "/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: example\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (name, digest, len(data)))
    record.append(_DIST_INFO + "/RECORD,,")
    files[_DIST_INFO + "/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (_NAME, _VERSION)
    with zipfile.ZipFile(os.path.join(directory, filename), "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return filename


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    package = os.path.join(_ROOT, _NAME)
    files = {}
    for entry in sorted(os.listdir(package)):
        if entry.endswith(".py"):
            with open(os.path.join(package, entry), "rb") as f:
                files["%s/%s" % (_NAME, entry)] = f.read()
    return _wheel(wheel_directory, files)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # PEP 660: a .pth file puts the source tree on sys.path.
    return _wheel(wheel_directory, {_NAME + ".pth": (_ROOT + "\n").encode()})
