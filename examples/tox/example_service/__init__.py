"""A service configured with oslo.config, as OpenStack services are."""

from oslo_config import cfg
from oslo_utils import strutils

OPTS = [cfg.StrOpt("greeting", default="hello", help="What the service says.")]


def greeting(conf, shout="no"):
    """The configured greeting, upper-cased when `shout` says yes ("yes", "true", "1"...)."""
    conf.register_opts(OPTS)
    text = conf.greeting
    return text.upper() if strutils.bool_from_string(shout) else text
