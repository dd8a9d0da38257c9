import os
import subprocess
import sys
import sysconfig
import unittest
from pathlib import Path

from bench import freethreading

PROJECT = Path(__file__).resolve().parents[2]


def run_guard(**env):
    code = ("from bench import freethreading; freethreading.watch(); "
            "freethreading.require_if_asked(); print('serving')")
    return subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=60)


class FreeThreadingGuardTests(unittest.TestCase):
    def test_the_warning_names_the_module(self):
        message = ("The global interpreter lock (GIL) has been enabled to load module "
                   "'gilforcer', which has not declared that it can run safely without the GIL.")
        self.assertEqual(freethreading._PATTERN.search(message).group(1), "gilforcer")

    def test_nothing_happens_unless_asked(self):
        result = run_guard(DJBENCH_REQUIRE_NO_GIL="0")
        self.assertEqual((result.returncode, result.stdout.strip()), (0, "serving"))

    @unittest.skipIf(sysconfig.get_config_var("Py_GIL_DISABLED"), "a GIL build is needed")
    def test_a_gil_build_is_refused_when_no_gil_is_required(self):
        result = run_guard(DJBENCH_REQUIRE_NO_GIL="1")
        self.assertEqual(result.returncode, 3)
        self.assertIn("not a free-threaded build", result.stderr)

    @unittest.skipUnless(sysconfig.get_config_var("Py_GIL_DISABLED"), "a free-threaded build")
    def test_a_free_threaded_build_serves_and_is_refused_with_python_gil_1(self):
        self.assertEqual(run_guard(DJBENCH_REQUIRE_NO_GIL="1").returncode, 0)
        refused = run_guard(DJBENCH_REQUIRE_NO_GIL="1", PYTHON_GIL="1")
        self.assertEqual(refused.returncode, 3)
        self.assertIn("the GIL is on", refused.stderr)
