// Force-included first into the test suites that use libtorch (kfold_add_test_suite ... TORCH): c10's
// logging header defines CHECK as a glog-style fatal check, which replaced doctest's CHECK in every test
// file that includes doctest before a libtorch header (a failure aborted the suite with "Check failed" and
// no values; passes were not counted). Included before anything else, doctest's definition comes last.
#pragma once

#include <c10/util/Logging.h>
