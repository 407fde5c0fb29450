import unittest

from oslo_config import cfg

import example_service


class TestService(unittest.TestCase):
    def test_greeting_comes_from_the_configuration(self):
        conf = cfg.ConfigOpts()
        conf([], project="example-service")
        self.assertEqual(example_service.greeting(conf), "hello")
        self.assertEqual(example_service.greeting(conf, shout="yes"), "HELLO")


if __name__ == "__main__":
    unittest.main()
