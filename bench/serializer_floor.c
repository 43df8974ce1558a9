/* What CPython itself costs for the serializer bench's small payload (["I", "I"]), called from Python the way
 * the serializer is (same arguments, same batched loop): the floor under pack / unpack of that payload.
 *
 * bench_serializer.py builds this file with the C compiler and this Python's headers (it is not part of the
 * package). Every function decodes / encodes big-endian u32 fields named by set_fields(); no bounds checks,
 * no plan lookup, no error reporting beyond what the C API itself does.
 *
 *   unpack_setattr(cls, data) -> (obj, offset)  object.__new__ from C, PyObject_GenericSetAttr per field
 *   unpack_init(cls, data)    -> (obj, offset)  object.__new__ from C, vectorcall of the class's __init__
 *   unpack_empty(cls, data)   -> (obj, offset)  object.__new__ from C, no attributes (allocation + tuple only)
 *   pack_getattr(obj)         -> bytes          PyObject_GetAttr per field into one PyBytes_FromStringAndSize
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define MAX_FLOOR_FIELDS 8

static PyObject *empty_args, *field_names[MAX_FLOOR_FIELDS], *field_init;
static Py_ssize_t n_fields;

static PyObject *with_offset(PyObject *obj, Py_ssize_t offset) {
    PyObject *pair;
    if (obj == NULL)
        return NULL;
    pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(obj);
        return NULL;
    }
    PyTuple_SET_ITEM(pair, 0, obj);
    PyTuple_SET_ITEM(pair, 1, PyLong_FromSsize_t(offset));
    return pair;
}

static int two_args(PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyType_Check(args[0]) || !PyBytes_Check(args[1]) || PyBytes_GET_SIZE(args[1]) < 4 * n_fields) {
        PyErr_SetString(PyExc_TypeError, "expected (class, bytes of the fields)");
        return -1;
    }
    return 0;
}

static PyObject *u32_at(const unsigned char *p) {
    return PyLong_FromUnsignedLong(((unsigned long)p[0] << 24) | ((unsigned long)p[1] << 16)
                                   | ((unsigned long)p[2] << 8) | p[3]);
}

static PyObject *set_fields(PyObject *module, PyObject *args) {
    PyObject *names, *init;
    Py_ssize_t index;
    if (!PyArg_ParseTuple(args, "O!O", &PyTuple_Type, &names, &init))
        return NULL;
    if (PyTuple_GET_SIZE(names) > MAX_FLOOR_FIELDS) {
        PyErr_SetString(PyExc_ValueError, "too many fields");
        return NULL;
    }
    for (index = 0; index < n_fields; index++)
        Py_CLEAR(field_names[index]);
    n_fields = PyTuple_GET_SIZE(names);
    for (index = 0; index < n_fields; index++) {
        PyObject *name = PyTuple_GET_ITEM(names, index);
        Py_INCREF(name);
        PyUnicode_InternInPlace(&name);
        field_names[index] = name;
    }
    Py_INCREF(init);
    Py_XSETREF(field_init, init);
    Py_RETURN_NONE;
}

static PyObject *unpack_setattr(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (two_args(args, nargs) < 0)
        return NULL;
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    PyObject *obj = PyBaseObject_Type.tp_new((PyTypeObject *)args[0], empty_args, NULL);
    Py_ssize_t index;
    for (index = 0; obj != NULL && index < n_fields; index++) {
        PyObject *value = u32_at(p + 4 * index);
        if (value == NULL || PyObject_GenericSetAttr(obj, field_names[index], value) < 0)
            Py_CLEAR(obj);
        Py_XDECREF(value);
    }
    return with_offset(obj, 4 * n_fields);
}

static PyObject *unpack_init(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (field_init == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "set_fields() first");
        return NULL;
    }
    if (two_args(args, nargs) < 0)
        return NULL;
    const unsigned char *p = (const unsigned char *)PyBytes_AS_STRING(args[1]);
    PyObject *stack[MAX_FLOOR_FIELDS + 1] = {NULL};
    PyObject *obj = PyBaseObject_Type.tp_new((PyTypeObject *)args[0], empty_args, NULL), *result = NULL;
    Py_ssize_t index;
    stack[0] = obj;
    for (index = 0; index < n_fields; index++)
        stack[index + 1] = u32_at(p + 4 * index);
    if (obj != NULL)
        result = PyObject_Vectorcall(field_init, stack, n_fields + 1, NULL);
    for (index = 0; index < n_fields; index++)
        Py_XDECREF(stack[index + 1]);
    if (result == NULL)
        Py_CLEAR(obj);
    Py_XDECREF(result);
    return with_offset(obj, 4 * n_fields);
}

static PyObject *unpack_empty(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (two_args(args, nargs) < 0)
        return NULL;
    return with_offset(PyBaseObject_Type.tp_new((PyTypeObject *)args[0], empty_args, NULL), 4 * n_fields);
}

static PyObject *pack_getattr(PyObject *module, PyObject *obj) {
    PyObject *out = PyBytes_FromStringAndSize(NULL, 4 * n_fields);
    unsigned char *p;
    Py_ssize_t index;
    if (out == NULL)
        return NULL;
    p = (unsigned char *)PyBytes_AS_STRING(out);
    for (index = 0; index < n_fields; index++, p += 4) {
        PyObject *value = PyObject_GetAttr(obj, field_names[index]);
        unsigned long number;
        if (value == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        number = PyLong_AsUnsignedLong(value);
        Py_DECREF(value);
        p[0] = (unsigned char)(number >> 24);
        p[1] = (unsigned char)(number >> 16);
        p[2] = (unsigned char)(number >> 8);
        p[3] = (unsigned char)number;
    }
    return out;
}

static PyMethodDef floor_methods[] = {
    {"set_fields", set_fields, METH_VARARGS, "set_fields(names, init): the fields and __init__ used below"},
    {"unpack_setattr", (PyCFunction)(void (*)(void))unpack_setattr, METH_FASTCALL, NULL},
    {"unpack_init", (PyCFunction)(void (*)(void))unpack_init, METH_FASTCALL, NULL},
    {"unpack_empty", (PyCFunction)(void (*)(void))unpack_empty, METH_FASTCALL, NULL},
    {"pack_getattr", pack_getattr, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef floor_module = {PyModuleDef_HEAD_INIT, "serializer_floor", NULL, -1, floor_methods};

PyMODINIT_FUNC PyInit_serializer_floor(void) {
    empty_args = PyTuple_New(0);
    if (empty_args == NULL)
        return NULL;
    return PyModule_Create(&floor_module);
}
