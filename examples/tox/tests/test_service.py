import unittest

import beta
import example_service


class TestService(unittest.TestCase):
    def test_value_comes_from_the_locked_dependency(self):
        self.assertEqual(example_service.value(), 1)
        self.assertEqual(beta.B, 2)


if __name__ == "__main__":
    unittest.main()
