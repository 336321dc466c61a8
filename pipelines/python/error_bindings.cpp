// kfold's C++ errors as Python exceptions with the CLI's messages: InputError (bad usage or input,
// the CLI's exit 2) is kfold.InputError, a ValueError; every other kfold error and libtorch's are
// kfold.KfoldError, a RuntimeError; InputError derives from KfoldError too. std::bad_alloc stays
// MemoryError (pybind11's own translation), and so are libtorch's allocation failures.
#include <c10/util/Exception.h>

#include <cstring>
#include <string>
#include <system_error>

#include "data/error.hpp"
#include "data/thread_limit.hpp"
#include "pipelines/python/bindings.hpp"
#include "pipelines/python/python_runtime.hpp"

namespace kfold::python {

namespace {

PyObject* g_kfold_error = nullptr;  // owned by the module (and kept alive for the process)
PyObject* g_input_error = nullptr;

// The message decoded as UTF-8 with bytes that are not (one byte of a multi-byte character in a
// message, a Latin-1 header) as \xNN escapes: PyErr_SetString would lose the whole message.
void set_error(PyObject* type, const char* message) {
  PyObject* text = PyUnicode_DecodeUTF8(message, static_cast<Py_ssize_t>(std::strlen(message)), "backslashreplace");
  if (text == nullptr) {  // out of memory: the MemoryError is set
    return;
  }
  PyErr_SetObject(type, text);
  Py_DECREF(text);
}

PyObject* new_exception(const char* name, const char* doc, PyObject* bases) {
  PyObject* type = PyErr_NewExceptionWithDoc(name, doc, bases, nullptr);
  if (type == nullptr) throw py::error_already_set();
  return type;
}

}  // namespace

void bind_errors(py::module_& m) {
  g_kfold_error = new_exception("kfold.KfoldError",
                                "A kfold failure while doing valid work (I/O, memory, numerics); the kfold "
                                "command exits with 1 for these. Every kfold error derives from it.\n\n"
                                "Example::\n\n    try:\n        pred = model.predict(sequence)\n"
                                "    except kfold.KfoldError as error:\n        print(error)\n",
                                PyExc_RuntimeError);
  py::tuple input_bases = py::make_tuple(py::handle(g_kfold_error), py::handle(PyExc_ValueError));
  g_input_error = new_exception("kfold.InputError",
                                "Bad usage or bad input; the message names the file, line or field and the fix "
                                "(the kfold command exits with 2 for these). A ValueError and a KfoldError.\n\n"
                                "Example::\n\n    try:\n        kfold.search(\"missing.fasta\", \"db.fasta\")\n"
                                "    except kfold.InputError as error:\n"
                                "        print(error)  # missing.fasta: file not found\n",
                                input_bases.ptr());
  m.add_object("KfoldError", py::handle(g_kfold_error));
  m.add_object("InputError", py::handle(g_input_error));

  py::register_exception_translator([](std::exception_ptr error) {
    try {
      if (error) std::rethrow_exception(error);
    } catch (const Cancelled&) {
      PyErr_SetNone(PyExc_KeyboardInterrupt);
    } catch (const InputError& e) {
      set_error(g_input_error, e.what());
    } catch (const Error& e) {
      set_error(g_kfold_error, e.what());
    } catch (const c10::Error& e) {
      const std::string message = e.what_without_backtrace();  // an allocator's: a MemoryError, as bad_alloc
      set_error(is_out_of_memory_message(message) ? PyExc_MemoryError : g_kfold_error, message.c_str());
    } catch (const std::system_error& e) {  // I/O failures the CLI reports with exit 1
      set_error(g_kfold_error,
                data::is_thread_start_failure(e) ? data::thread_start_failure_text(e).c_str() : e.what());
    }
  });
}

}  // namespace kfold::python
