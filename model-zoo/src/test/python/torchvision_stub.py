"""A stand-in for torchvision, which timm imports at module level (transforms, ops) but whose
models used by the fixture scripts (ViT, EfficientFormer, SwinV2) never call. Debian's
python3-torch has no torchvision; install() makes `import torchvision...` succeed with modules
whose every attribute is a dummy class. Nothing of torchvision or timm is copied here.
"""
import importlib.abc
import importlib.machinery
import sys
import types


class _AnyAttr(type):
    def __getattr__(cls, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _AnyAttr(name, (), {})

    def __hash__(cls):
        return id(cls)


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name.startswith('__'):
            raise AttributeError(name)
        return _AnyAttr(name, (), {})


class _TorchvisionStub(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == 'torchvision' or fullname.startswith('torchvision.'):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = _StubModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def install():
    """Stubs torchvision unless a real one is installed."""
    try:
        import torchvision  # noqa: F401
    except ImportError:
        sys.meta_path.insert(0, _TorchvisionStub())
