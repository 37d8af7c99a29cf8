"""Which public names of torch, Lightning, torchvision, torchaudio Ember lacks: ``python -m benchmarks.api_coverage``.

Needs torch installed; run by hand, never part of the test run. For each namespace (torch's top level,
Tensor methods, torch.nn, torch.nn.functional, torch.nn.init, torch.nn.utils, torch.nn.utils.rnn,
torch.linalg, torch.fft, torch.special, torch.distributions, torch.func, torch.autograd,
torch.autograd.functional / forward_ad / profiler, torch.profiler, torch.testing, torch.utils.tensorboard,
torch.optim, torch.utils.data) it lists torch's public
names, drops those Ember leaves out on purpose (``LEFT_OUT`` below, each with its reason; a name Ember has anyway is
counted), and counts how many of the rest Ember has under the same name. It prints a table of percentages and then the missing
names; ``--markdown`` prints the same as Markdown to paste into the docs, ``--left-out`` also lists the
names left out on purpose.

The same count runs over the surfaces of the other references Ember follows (``REFERENCE_ROWS``): Lightning's
``LightningModule`` (its methods and hooks, then its properties), ``LightningDataModule``, ``Trainer``
(constructor arguments, then public properties and methods), ``lightning.pytorch.callbacks`` and ``loggers``; ``torchvision.ops``,
``torchvision.transforms.v2``, ``torchaudio.functional`` and ``torchaudio.transforms``. A row whose reference is
not installed is skipped with the reason. torchvision and torchaudio are imported as the parity tests import them
(``tests/vision/_torchvision.py``, ``tests/audio/_torchaudio.py``), and Lightning after them (its torchmetrics
imports torchvision).

A public name is one without a leading underscore that is not a submodule (each namespace is counted on
its own), a typing helper, a documentation dict or a name imported from the standard library. On a class
(``LightningModule``, ``Trainer``) the names are those Lightning's own classes define, not torch.nn.Module's
(counted under torch.nn's rows); Ember's side is an instance, so attributes set in ``__init__`` count.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import inspect
import signal
import tempfile
import types
from dataclasses import dataclass
from typing import Callable

# (torch namespace, the Ember object holding the same names)
NAMESPACES = [
    ("torch", "ember"),
    ("torch.Tensor", "ember.Tensor"),
    ("torch.nn", "ember.nn"),
    ("torch.nn.functional", "ember.nn.functional"),
    ("torch.nn.init", "ember.nn.init"),
    ("torch.nn.utils", "ember.nn.utils"),
    ("torch.nn.utils.rnn", "ember.nn.utils.rnn"),
    ("torch.linalg", "ember.linalg"),
    ("torch.fft", "ember.fft"),
    ("torch.special", "ember.special"),
    ("torch.distributions", "ember.distributions"),
    ("torch.func", "ember.func"),
    ("torch.autograd", "ember.autograd"),
    ("torch.autograd.functional", "ember.autograd.functional"),
    ("torch.autograd.forward_ad", "ember.autograd.forward_ad"),
    ("torch.autograd.profiler", "ember.autograd.profiler"),
    ("torch.profiler", "ember.profiler"),
    ("torch.testing", "ember.testing"),
    ("torch.utils.tensorboard", "ember.utils.tensorboard"),
    ("torch.optim", "ember.optim"),
    ("torch.utils.data", "ember.data"),
]

_LM, _LM_PROPERTIES = "lightning.pytorch.LightningModule", "lightning.pytorch.LightningModule (properties)"
_TRAINER, _TRAINER_ARGS = "lightning.pytorch.Trainer", "lightning.pytorch.Trainer.__init__"

# (namespace or "*", fnmatch pattern, why Ember leaves these names out). One line of reason each.
LEFT_OUT: list[tuple[str, str, str]] = [
    # Hardware Ember does not run on.
    ("*", "*cuda*", "CUDA internals: Ember is CPU-only (ember.cuda answers is_available() False)"),
    ("*", "*cudnn*", "cuDNN kernels: CPU-only"),
    ("*", "*miopen*", "AMD MIOpen kernels: CPU-only"),
    ("*", "*mkldnn*", "oneDNN layouts and kernels: numpy/numba have no opaque layouts"),
    ("*", "*mps*", "Apple Metal backend: CPU-only"),
    ("*", "*xpu*", "Intel GPU backend: CPU-only"),
    ("*", "*mtia*", "Meta training accelerator backend: CPU-only"),
    ("*", "*hip*", "ROCm internals: CPU-only"),
    ("*", "*vulkan*", "Vulkan backend: CPU-only"),
    ("*", "*fbgemm*", "FBGEMM quantised kernels: no quantisation"),
    ("*", "*nnpack*", "NNPACK kernels: no such backend"),
    ("torch", "is_vulkan_available", "Vulkan backend: CPU-only"),
    ("torch", "set_flush_denormal", "x87/SSE denormal flag: numpy does not expose it"),
    # Quantisation.
    ("*", "*quantize*", "quantisation: not in Ember (float16/32/64 only)"),
    ("*", "*quantized*", "quantisation: not in Ember"),
    ("*", "q_*", "quantised tensor accessors: no quantisation"),
    ("*", "*qscheme*", "quantisation schemes: no quantisation"),
    ("torch", "per_tensor_*", "quantisation schemes: no quantisation"),
    ("torch", "per_channel_*", "quantisation schemes: no quantisation"),
    ("torch", "Q*", "quantised dtypes and storages: no quantisation"),
    ("torch", "qint*", "quantised dtypes: no quantisation"),
    ("torch", "quint*", "quantised dtypes: no quantisation"),
    ("torch", "dequantize", "quantisation: no quantisation"),
    ("*", "int_repr", "quantised tensor accessor: no quantisation"),
    ("torch", "fake_quantize_*", "quantisation-aware training: no quantisation"),
    ("torch", "fused_moving_avg_obs_fake_quant", "quantisation-aware training: no quantisation"),
    ("torch", "choose_qparams_optimized", "quantisation: no quantisation"),
    # JIT / TorchScript / graph tooling / compiler internals.
    ("torch", "jit", "TorchScript: Ember exports graphs through ember.export instead"),
    ("torch", "Script*", "TorchScript: not in Ember"),
    ("torch", "script*", "TorchScript: not in Ember"),
    ("torch", "import_ir_module*", "TorchScript IR loading: not in Ember"),
    ("torch", "parse_*", "TorchScript IR parsing: not in Ember"),
    ("torch", "merge_type_from_type_comment", "TorchScript type comments: not in Ember"),
    ("torch", "unify_type_list", "TorchScript types: not in Ember"),
    ("torch", "*Type", "TorchScript's type objects (TensorType, ListType ...): not in Ember"),
    ("torch", "*TypePtr", "TorchScript's type objects: not in Ember"),
    ("torch", "Aliasing*", "TorchScript alias analysis: not in Ember"),
    ("torch", "Argument*", "TorchScript schema objects: not in Ember"),
    ("torch", "FunctionSchema", "TorchScript schema objects: not in Ember"),
    ("torch", "Graph*", "TorchScript graph objects: not in Ember"),
    ("torch", "Block", "TorchScript graph objects: not in Ember"),
    ("torch", "Node", "TorchScript graph objects: not in Ember"),
    ("torch", "Value", "TorchScript graph objects: not in Ember"),
    ("torch", "Use", "TorchScript graph objects: not in Ember"),
    ("torch", "Code*", "TorchScript code objects: not in Ember"),
    ("torch", "CompilationUnit", "TorchScript: not in Ember"),
    ("torch", "ConcreteModuleType*", "TorchScript: not in Ember"),
    ("torch", "ErrorReport", "TorchScript: not in Ember"),
    ("torch", "ExecutionPlan", "TorchScript: not in Ember"),
    ("torch", "IODescriptor", "TorchScript: not in Ember"),
    ("torch", "LiteScriptModule", "TorchScript mobile: not in Ember"),
    ("torch", "LockingLogger", "TorchScript logging: not in Ember"),
    ("torch", "LoggerBase", "TorchScript logging: not in Ember"),
    ("torch", "NoopLogger", "TorchScript logging: not in Ember"),
    ("torch", "AggregationType", "TorchScript logging: not in Ember"),
    ("torch", "BenchmarkConfig", "TorchScript benchmarking: not in Ember"),
    ("torch", "BenchmarkExecutionStats", "TorchScript benchmarking: not in Ember"),
    ("torch", "ThroughputBenchmark", "TorchScript benchmarking: not in Ember"),
    ("torch", "Gradient", "TorchScript autodiff internals: not in Ember"),
    ("torch", "FileCheck", "TorchScript test utility: not in Ember"),
    ("torch", "DeserializationStorageContext", "TorchScript serialization internals: not in Ember"),
    ("torch", "SerializationStorageContext", "TorchScript serialization internals: not in Ember"),
    ("torch", "PyTorchFileReader", "zip-pickle file internals: Ember's format has no pickle"),
    ("torch", "PyTorchFileWriter", "zip-pickle file internals: Ember's format has no pickle"),
    ("torch", "fork", "TorchScript futures: not in Ember"),
    ("torch", "wait", "TorchScript futures: not in Ember"),
    ("torch", "Future", "TorchScript futures: not in Ember"),
    ("torch", "AwaitType", "TorchScript futures: not in Ember"),
    ("torch", "futures", "TorchScript futures: not in Ember"),
    ("torch", "fx", "torch.fx graph rewriting: ember.export is Ember's capture"),
    ("torch", "compiler", "torch.compiler internals: ember.compile is Ember's"),
    ("torch", "cond", "torch.compile control flow: not in Ember"),
    ("torch", "while_loop", "torch.compile control flow: not in Ember"),
    ("torch", "vmap", "alias of torch.func.vmap (counted there)"),
    ("torch", "sym_*", "symbolic shapes for torch.compile: not in Ember"),
    ("torch", "Sym*", "symbolic shapes for torch.compile: not in Ember"),
    ("torch", "guard_size_oblivious", "symbolic shapes for torch.compile: not in Ember"),
    ("torch", "DispatchKey*", "dispatcher internals: Ember has no dispatcher"),
    ("torch", "library", "custom operator registration for the dispatcher: Ember ops are Python classes"),
    ("torch", "ops", "dispatcher operator namespace: Ember ops are Python classes"),
    ("torch", "classes", "TorchScript custom classes: not in Ember"),
    ("torch", "overrides", "__torch_function__ protocol: not in Ember"),
    ("torch", "TensorType", "TorchScript type: not in Ember"),
    ("torch", "is_anomaly_*", "alias of the torch.autograd anomaly switches (counted there)"),
    ("torch", "export", "graph capture: ember.export has its own ExportedProgram"),
    ("torch", "onnx", "ONNX export: ember.onnx is planned"),
    ("torch", "use_deterministic_algorithms", "Ember's kernels are always deterministic"),
    ("torch", "are_deterministic_algorithms_enabled", "Ember's kernels are always deterministic"),
    ("torch", "is_deterministic_algorithms_warn_only_enabled", "Ember's kernels are always deterministic"),
    ("torch", "set_deterministic_debug_mode", "Ember's kernels are always deterministic"),
    ("torch", "get_deterministic_debug_mode", "Ember's kernels are always deterministic"),
    ("torch", "set_warn_always", "C++ warning deduplication switch: Ember warns through Python"),
    ("torch", "is_warn_always_enabled", "C++ warning deduplication switch: Ember warns through Python"),
    # Sparse storage, named tensors, nested / jagged tensors.
    ("*", "*sparse*", "sparse layouts: not in Ember yet (ember.sparse is planned)"),
    ("*", "*csr*", "sparse CSR layout: not in Ember"),
    ("*", "*csc*", "sparse CSC layout: not in Ember"),
    ("*", "*bsr*", "sparse BSR layout: not in Ember"),
    ("*", "*bsc*", "sparse BSC layout: not in Ember"),
    ("*", "*coo*", "sparse COO layout: not in Ember yet"),
    ("*", "to_dense", "sparse layouts: not in Ember"),
    ("*", "to_mkldnn", "oneDNN layout: not in Ember"),
    ("torch.Tensor", "indices", "sparse accessor: not in Ember"),
    ("torch.Tensor", "values", "sparse accessor: not in Ember"),
    ("torch.Tensor", "crow_indices", "sparse accessor: not in Ember"),
    ("torch.Tensor", "col_indices", "sparse accessor: not in Ember"),
    ("torch.Tensor", "ccol_indices", "sparse accessor: not in Ember"),
    ("torch.Tensor", "row_indices", "sparse accessor: not in Ember"),
    ("torch.Tensor", "dense_dim", "sparse accessor: not in Ember"),
    ("torch", "smm", "sparse matmul: not in Ember"),
    ("torch", "hspmm", "sparse matmul: not in Ember"),
    ("torch", "sspaddmm", "sparse matmul: not in Ember"),
    ("torch.Tensor", "smm", "sparse matmul: not in Ember"),
    ("torch.Tensor", "hspmm", "sparse matmul: not in Ember"),
    ("torch.Tensor", "sspaddmm", "sparse matmul: not in Ember"),
    ("torch.Tensor", "sparse_*", "sparse layouts: not in Ember"),
    ("torch.Tensor", "coalesce", "sparse layouts: not in Ember"),
    ("torch.Tensor", "is_coalesced", "sparse layouts: not in Ember"),
    ("torch.Tensor", "_nnz", "sparse layouts: not in Ember"),
    ("*", "*named*tensor*", "named tensors (prototype in torch): not in Ember"),
    ("torch.Tensor", "names", "named tensors (prototype): not in Ember"),
    ("torch.Tensor", "rename", "named tensors (prototype): not in Ember"),
    ("torch.Tensor", "rename_", "named tensors (prototype): not in Ember"),
    ("torch.Tensor", "refine_names", "named tensors (prototype): not in Ember"),
    ("torch.Tensor", "align_as", "named tensors (prototype): not in Ember"),
    ("torch.Tensor", "align_to", "named tensors (prototype): not in Ember"),
    ("torch", "nested", "nested (jagged) tensors: not in Ember"),
    ("torch", "jagged", "nested (jagged) tensor layout: not in Ember"),
    ("*", "*nested*", "nested (jagged) tensors: not in Ember"),
    ("torch", "masked", "masked tensors (prototype): not in Ember"),
    # Storage, memory layout and C++ internals.
    ("torch", "*Storage", "typed storages: Ember tensors wrap a numpy array, there is no storage object"),
    ("torch", "is_storage", "storage internals: no storage object"),
    ("torch", "StorageBase", "storage internals: no storage object"),
    ("torch", "storage", "storage internals: no storage object"),
    ("torch", "UntypedStorage", "storage internals: no storage object"),
    ("torch", "TypedStorage", "storage internals: no storage object"),
    ("torch.Tensor", "*storage*", "storage internals: Ember tensors wrap a numpy array"),
    ("torch.Tensor", "data_ptr", "raw pointers: Ember exposes .numpy() instead"),
    ("torch.Tensor", "set_", "storage swap: no storage object"),
    ("torch.Tensor", "is_set_to", "storage comparison: no storage object"),
    ("torch.Tensor", "new", "legacy constructor: deprecated in torch; use new_empty / new_tensor"),
    ("torch", "*_format", "memory formats (channels_last ...): numpy arrays carry strides, not formats"),
    ("torch", "memory_format", "memory formats: not in Ember"),
    ("*", "*channels_last*", "memory formats: not in Ember"),
    ("torch", "layout", "layouts: Ember has only strided tensors"),
    ("torch", "strided", "layouts: Ember has only strided tensors"),
    ("torch", "dlpack*", "DLPack exchange: use .numpy() / numpy's own dlpack"),
    ("torch", "from_dlpack", "DLPack exchange: use numpy.from_dlpack then ember.from_numpy"),
    ("torch", "to_dlpack", "DLPack exchange: use .numpy()"),
    ("torch.Tensor", "__dlpack*", "DLPack exchange: use .numpy()"),
    ("torch", "from_file", "memory-mapped typed storage: use numpy.memmap then ember.from_numpy"),
    ("torch", "frombuffer", "raw buffers: use numpy.frombuffer then ember.from_numpy"),
    ("torch", "USE_*", "build flags"),
    ("torch", "TYPE_CHECKING", "typing flag"),
    ("torch", "PRIVATE_OPS", "internal list"),
    ("torch", "compiled_with_cxx11_abi", "build flags"),
    ("torch", "get_file_path", "internal helper"),
    ("torch", "prepare_multiprocessing_environment", "internal helper"),
    ("torch", "classproperty", "internal helper"),
    ("torch", "torch_version", "internal module"),
    ("torch", "version", "torch.version module: ember.__version__"),
    ("torch", "return_types", "C++ named-tuple types: Ember returns plain named tuples"),
    ("torch", "*_num_threads", "intra-op threads: set OMP/NUMBA_NUM_THREADS before starting Python"),
    ("torch", "*_num_interop_threads", "inter-op thread pool: Ember has none"),
    ("torch", "parallel_info", "C++ thread-pool report: not in Ember"),
    ("torch", "show_config", "C++ build report: not in Ember"),
    ("torch", "get_cpu_capability", "C++ dispatch capability: not in Ember"),
    ("torch", "set_default_tensor_type", "legacy typed tensor classes: deprecated; use set_default_dtype"),
    ("torch", "autocast*", "mixed precision: not in Ember"),
    ("torch", "*autocast*", "mixed precision: not in Ember"),
    ("torch", "is_inference", "inference tensors flag: inference_mode is no_grad in Ember"),
    ("torch", "profiler", "profiler: use Python's cProfile"),
    ("torch", "monitor", "C++ event monitoring: not in Ember"),
    ("torch", "package", "torch.package archives: pickle-based, Ember loads no pickle"),
    ("torch", "hub", "torch.hub: ember.hub is planned"),
    ("torch", "distributed", "torch.distributed: Ember's DDP is the Trainer's MPI strategy"),
    ("torch", "testing", "torch.testing: use numpy.testing"),
    ("torch", "signal", "torch.signal windows: ember.audio has the windows it uses"),
    ("torch", "quasirandom", "Sobol engine: not in Ember"),
    ("torch", "SobolEngine", "Sobol engine: not in Ember"),
    ("torch", "GradScaler", "mixed precision: not in Ember"),
    ("torch", "amp", "mixed precision: not in Ember"),
    ("torch", "ao", "architecture optimisation (quantisation, pruning): not in Ember"),
    ("torch", "cpu", "torch.cpu stream/device helpers: CPU is the only device"),
    ("torch", "accelerator", "counted as a namespace, not a name"),
    ("torch", "AcceleratorError", "accelerator runtime errors: CPU-only"),
    ("torch", "Stream", "device streams: CPU-only"),
    ("torch", "StreamObjType", "device streams: CPU-only"),
    ("torch", "Event", "device events: CPU-only"),
    ("torch", "set_default_device", "CPU is the only device"),
    ("torch", "get_device_module", "device modules: CPU-only"),
    # Kernels and helpers torch exposes at top level that its nn modules call; users call the modules.
    ("torch", "native_*", "internal kernels behind nn.functional (native_layer_norm ...)"),
    ("torch", "batch_norm_*", "SyncBatchNorm's internal kernels"),
    ("torch", "*_copy", "view-copy variants for functionalization (torch.compile internals)"),
    ("torch", "lstm", "nn.LSTM's internal kernel: use nn.LSTM"),
    ("torch", "gru", "nn.GRU's internal kernel: use nn.GRU"),
    ("torch", "rnn_tanh", "nn.RNN's internal kernel: use nn.RNN"),
    ("torch", "rnn_relu", "nn.RNN's internal kernel: use nn.RNN"),
    ("torch", "*_cell", "nn.*Cell's internal kernels: use nn.LSTMCell / GRUCell / RNNCell"),
    ("torch", "feature_dropout*", "internal kernel behind nn.Dropout2d"),
    ("torch", "*alpha_dropout_", "internal in-place kernels behind nn.AlphaDropout"),
    ("torch", "dropout_", "internal in-place kernel behind nn.Dropout(inplace=True)"),
    ("torch", "convolution", "internal kernel behind the conv layers: use conv1d / conv2d"),
    ("torch", "grid_sampler*", "internal kernels behind F.grid_sample"),
    ("torch", "affine_grid_generator", "internal kernel behind F.affine_grid"),
    ("torch", "constant_pad_nd", "internal kernel behind F.pad"),
    ("torch", "embedding_renorm_", "internal kernel behind nn.Embedding(max_norm=)"),
    ("torch", "norm_except_dim", "internal kernel behind weight_norm"),
    ("*", "unsafe_*", "unchecked internal variants of chunk / split"),
    ("torch", "segment_reduce", "prototype internal op"),
    ("torch", "slice_inverse", "functionalization internal"),
    ("torch.Tensor", "slice_inverse", "functionalization internal"),
    ("torch", "is_distributed", "torch.distributed internal"),
    ("torch.Tensor", "is_distributed", "torch.distributed internal"),
    ("torch", "frobenius_norm", "deprecated in torch: use torch.linalg.matrix_norm"),
    ("torch", "nuclear_norm", "deprecated in torch: use torch.linalg.matrix_norm"),
    ("torch", "chain_matmul", "deprecated in torch: use torch.linalg.multi_dot"),
    ("torch", "trapz", "deprecated alias of trapezoid"),
    ("torch", "saddmm", "sparse matmul: not in Ember"),
    ("torch", "dsmm", "sparse matmul: not in Ember"),
    ("torch", "hsmm", "sparse matmul: not in Ember"),
    ("torch", "spmm", "sparse matmul: not in Ember"),
    # C++ binding objects that leak into torch's namespace.
    ("torch", "AVG", "c10d reduce-op constant (torch.distributed internal)"),
    ("torch", "SUM", "c10d reduce-op constant (torch.distributed internal)"),
    ("torch", "AliasDb", "TorchScript alias analysis: not in Ember"),
    ("torch", "CallStack", "TorchScript: not in Ember"),
    ("torch", "Capsule", "C++ binding object"),
    ("torch", "CompleteArgumentSpec", "TorchScript: not in Ember"),
    ("torch", "DeepCopyMemoTable", "TorchScript: not in Ember"),
    ("torch", "DisableTorchFunction*", "__torch_function__ protocol: not in Ember"),
    ("torch", "ExcludeDispatchKeyGuard", "dispatcher internals: Ember has no dispatcher"),
    ("torch", "FatalError", "C++ binding object"),
    ("torch", "JITException", "TorchScript: not in Ember"),
    ("torch", "OperatorInfo", "TorchScript mobile: not in Ember"),
    ("torch", "StaticModule", "TorchScript static runtime: not in Ember"),
    ("torch", "Tag", "dispatcher operator tags: not in Ember"),
    ("torch", "TracingState", "TorchScript tracer: not in Ember"),
    ("torch", "ModuleDict", "TorchScript's C++ ModuleDict (nn.ModuleDict is counted under torch.nn)"),
    ("torch", "ParameterDict", "TorchScript's C++ ParameterDict (nn.ParameterDict is counted under torch.nn)"),
    ("torch", "BufferDict", "TorchScript's C++ BufferDict"),
    ("torch", "thread_safe_generator", "internal helper of the data loader's threads"),
    # Dtypes numpy cannot hold.
    ("torch", "bits*", "opaque bit dtypes for custom kernels: numpy has none"),
    ("torch", "int[1-7]", "sub-byte integer dtypes: numpy has none"),
    ("torch", "uint[1-7]", "sub-byte integer dtypes: numpy has none"),
    ("torch", "float8_*", "float8 dtypes for GPU kernels: numpy has none"),
    ("torch", "float4_*", "float4 dtypes for GPU kernels: numpy has none"),
    ("torch", "complex32", "half-precision complex: numpy has none"),
    ("torch", "chalf", "half-precision complex: numpy has none"),
    ("torch.Tensor", "chalf", "half-precision complex: numpy has none"),
    # Hardware-specific Tensor methods.
    ("torch.Tensor", "ipu", "Graphcore IPU: CPU-only"),
    ("torch.Tensor", "is_ipu", "Graphcore IPU: CPU-only"),
    ("torch.Tensor", "is_maia", "Microsoft MAIA: CPU-only"),
    ("torch.Tensor", "is_xla", "XLA devices: CPU-only"),
    ("torch.Tensor", "record_stream", "device streams: CPU-only"),
    ("torch.Tensor", "const_data_ptr", "raw pointers: Ember exposes .numpy() instead"),
    ("torch.Tensor", "module_load", "tensor-subclass hook of load_state_dict: no tensor subclasses"),
    ("torch.Tensor", "as_subclass", "tensor subclasses: not in Ember"),
    ("torch.Tensor", "dim_order", "memory formats: not in Ember"),
    ("torch.Tensor", "to_padded_tensor", "nested tensors: not in Ember"),
    ("torch.Tensor", "resize*", "storage resizing: no storage object"),
    ("torch.Tensor", "output_nr", "autograd internal"),
    ("torch.Tensor", "volatile", "removed in torch 0.4 (warns): use no_grad"),
    ("torch.Tensor", "reinforce", "removed in torch 0.4 (raises)"),
    ("torch.Tensor", "map_", "legacy CPU-only in-place map: use a Python loop over .numpy()"),
    ("torch.Tensor", "map2_", "legacy CPU-only in-place map: use a Python loop over .numpy()"),
    ("torch.Tensor", "is_inference", "inference tensors flag: inference_mode is no_grad in Ember"),
    # Deprecated aliases and removed functions.
    ("torch", "eig", "removed from torch (raises): use torch.linalg.eig"),
    ("torch", "symeig", "removed from torch (raises): use torch.linalg.eigh"),
    ("torch", "lstsq", "removed from torch (raises): use torch.linalg.lstsq"),
    ("torch", "solve", "removed from torch (raises): use torch.linalg.solve"),
    ("torch", "matrix_rank", "removed from torch (raises): use torch.linalg.matrix_rank"),
    ("torch.Tensor", "eig", "removed from torch (raises)"),
    ("torch.Tensor", "symeig", "removed from torch (raises)"),
    ("torch.Tensor", "lstsq", "removed from torch (raises)"),
    ("torch.Tensor", "solve", "removed from torch (raises)"),
    ("torch.Tensor", "matrix_rank", "removed from torch (raises)"),
    ("torch.nn", "Container", "deprecated in torch: use nn.Module"),
    ("torch.nn", "NLLLoss2d", "deprecated in torch: use nn.NLLLoss"),
    ("torch.autograd", "Variable", "deprecated in torch: tensors carry requires_grad"),
    ("torch.autograd", "variable", "deprecated in torch: tensors carry requires_grad"),
    # Profiler and other internals under the namespaces.
    ("torch.autograd", "Profiler*", "the C++ profiler's config objects: ember.profiler's profile takes its arguments"),
    ("torch.autograd.profiler", "ProfilerActivity", "lives in ember.profiler (torch re-exports it here)"),
    ("torch.autograd.profiler", "Profiler[CS]*", "the C++ profiler's config objects: profile() takes its arguments"),
    ("torch.autograd.profiler", "*nvprof*", "nvprof traces: CUDA only"),
    ("torch.autograd.profiler", "*_EVENT_NAME", "the C++ profiler's event-name constants"),
    ("torch.autograd.profiler", "EnforceUnique", "torch's internal helper"),
    ("torch.autograd.profiler", "MemRecordsAcc", "torch's internal helper"),
    ("torch.autograd.profiler", "KinetoStepTracker", "Kineto's step counter: Ember's profiler counts its own steps"),
    ("torch.autograd.profiler", "Future", "torch.futures, imported into the module"),
    ("torch.autograd.profiler", "dataclass", "imported from the standard library"),
    ("torch.autograd.profiler", "perf_counter_ns", "imported from the standard library"),
    ("torch.autograd.profiler", "warn", "imported from the standard library"),
    ("torch.autograd.profiler", "log", "a logging.Logger of torch's"),
    ("torch.profiler", "KinetoStepTracker", "Kineto's step counter: Ember's profiler counts its own steps"),
    ("torch.profiler", "ExecutionTraceObserver", "torch's execution-graph trace (Chakra): not in Ember"),
    ("torch.profiler", "RecordScope", "RecordFunction's C++ scopes: not in Ember"),
    ("torch.profiler", "is_fbcode", "Meta-internal build flag"),
    ("torch.profiler", "register_optimizer_step_post_hook", "torch's internal hook for Kineto's step counter"),
    ("torch.testing", "FileCheck", "TorchScript IR checks: not in Ember"),
    ("torch.utils.tensorboard", "FileWriter", "tensorboard's low-level writer: use SummaryWriter"),
    ("torch.utils.tensorboard", "RecordWriter", "tensorboard's low-level writer: use SummaryWriter"),
    ("torch.autograd", "kineto_available", "profiler backend: not in Ember"),
    ("torch.autograd", "DeviceType", "profiler device enum: CPU-only"),
    ("torch.autograd", "SavedTensor", "C++ saved-tensor handle: not in Ember"),
    ("torch.autograd", "*multithreading*", "threaded backward engine: Ember's engine is single-threaded"),
    ("torch.autograd", "is_view_replay_enabled", "view replay: not in Ember"),
    ("torch.autograd", "enforce_grad_layout_policy", "gradient stride layout: numpy arrays, no policy"),
    ("*", "handle_torch_function", "__torch_function__ protocol: not in Ember"),
    ("*", "has_torch_function*", "__torch_function__ protocol: not in Ember"),
    ("*", "is_tensor_like", "__torch_function__ protocol: not in Ember"),
    ("torch.nn.functional", "boolean_dispatch", "TorchScript helper imported into F"),
    ("torch.nn.functional", "assert_int_or_pair", "internal helper imported into F"),
    ("torch.nn.functional", "BroadcastingList*", "TorchScript type helpers imported into F"),
    ("torch.nn.functional", "GRID_SAMPLE_*", "internal constants"),
    ("torch.nn.functional", "native_channel_shuffle", "internal kernel of channel_shuffle"),
    ("torch.nn.functional", "conv_tbc", "Fairseq's time-batch-channel conv kernel: not in Ember"),
    ("torch.nn.functional", "*scaled_mm", "float8 scaled matmul for GPUs: not in Ember"),
    ("torch.nn.functional", "*grouped_mm", "GPU grouped matmul for mixture-of-experts: not in Ember"),
    ("torch.nn.functional", "ScalingType", "float8 scaled matmul for GPUs: not in Ember"),
    ("torch.nn.functional", "SwizzleType", "float8 scaled matmul for GPUs: not in Ember"),
    ("torch.nn", "factory_kwargs", "internal helper"),
    ("torch.nn.init", "constant", "deprecated alias of constant_ (warns in torch)"),
    ("torch.nn.init", "dirac", "deprecated alias of dirac_ (warns in torch)"),
    ("torch.nn.init", "eye", "deprecated alias of eye_ (warns in torch)"),
    ("torch.nn.init", "kaiming_normal", "deprecated alias of kaiming_normal_ (warns in torch)"),
    ("torch.nn.init", "kaiming_uniform", "deprecated alias of kaiming_uniform_ (warns in torch)"),
    ("torch.nn.init", "normal", "deprecated alias of normal_ (warns in torch)"),
    ("torch.nn.init", "orthogonal", "deprecated alias of orthogonal_ (warns in torch)"),
    ("torch.nn.init", "uniform", "deprecated alias of uniform_ (warns in torch)"),
    ("torch.nn.init", "xavier_normal", "deprecated alias of xavier_normal_ (warns in torch)"),
    ("torch.nn.init", "xavier_uniform", "deprecated alias of xavier_uniform_ (warns in torch)"),
    ("torch.nn.utils", "clip_grad_norm", "deprecated alias of clip_grad_norm_ (warns in torch)"),
    ("torch.nn.utils", "convert_conv*_weight_memory_format", "memory formats: not in Ember"),
    ("torch.nn.utils.rnn", "PackedSequence_", "internal base class of PackedSequence"),
    ("torch.nn.utils.rnn", "bind", "internal helper"),
    ("torch.nn.utils.rnn", "copy_method_params", "internal helper"),
    ("torch.nn.utils.rnn", "invert_permutation", "internal helper"),
    ("torch.nn", "DataParallel", "multi-GPU: CPU-only; DDP is the Trainer's MPI strategy"),
    ("torch.nn", "Lazy*", "lazy modules infer in_features on the first call: not in Ember"),
    ("torch.nn", "Uninitialized*", "lazy modules' placeholders: not in Ember"),
    ("torch.func", "debug_unwrap", "functorch internals"),
    ("torch.func", "functionalize", "functionalization for torch.compile: not in Ember"),
    ("torch.optim", "SparseAdam", "sparse gradients: not in Ember"),
    ("torch.optim", "swap_in_optimizer_params_and_state", "tensor-subclass swapping: not in Ember"),
    ("torch.utils.data", "*DataPipe*", "DataPipes: deprecated in torch"),
    ("torch.utils.data", "DataChunk", "DataPipes: deprecated in torch"),
    ("torch.utils.data", "functional_datapipe", "DataPipes: deprecated in torch"),
    ("torch.utils.data", "argument_validation", "DataPipes: deprecated in torch"),
    ("torch.utils.data", "runtime_validation*", "DataPipes: deprecated in torch"),
    ("torch.utils.data", "guaranteed_datapipes_determinism", "DataPipes: deprecated in torch"),
    ("torch.utils.data", "non_deterministic", "DataPipes: deprecated in torch"),
    # Lightning's LightningModule and Trainer (_LM, _TRAINER below).
    (_LM, "to_torchscript", "TorchScript: not in Ember (ember.export captures graphs)"),
    (_LM, "to_tensorrt", "TensorRT compilation for NVIDIA GPUs: CPU-only"),
    (_LM, "to_onnx", "ONNX export: ember.onnx is planned"),
    (_LM_PROPERTIES, "fabric", "Lightning Fabric internals: Ember's Trainer has no Fabric"),
    (_LM_PROPERTIES, "device_mesh", "DTensor device meshes for model parallelism: not in Ember"),
    (_TRAINER_ARGS, "model_registry", "upload to Lightning AI's hosted model registry: a service"),
    (_TRAINER, "precision_plugin", "Lightning's precision plugin objects: Ember has Trainer.precision"),
    (_TRAINER, "accelerator", "Lightning's Accelerator objects: Ember computes on the CPU only"),
    (_TRAINER, "scaler", "AMP gradient scaler: no mixed precision"),
    (_TRAINER, "device_ids", "accelerator device indices: CPU-only"),
    # Lightning's loggers for hosted services.
    ("lightning.pytorch.loggers", "CometLogger", "hosted experiment tracking (comet.com): needs an account"),
    ("lightning.pytorch.loggers", "WandbLogger", "hosted experiment tracking (wandb.ai): needs an account"),
    ("lightning.pytorch.loggers", "LitLogger", "hosted experiment tracking (lightning.ai): needs an account"),
]

# Names counted although a pattern above catches them (a pattern is a shortcut, not a verdict on every
# name it matches).
KEPT = {
    ("torch", "device"), ("torch.Tensor", "unflatten"), ("torch.nn", "SyncBatchNorm"),
    ("torch", "set_default_device"), ("torch", "get_default_device"),
    ("torch", "autocast"), ("torch", "is_autocast_enabled"),  # (scripts call them; a CPU no-op would do)
}


class Unavailable(Exception):
    """A row's reference package is not installed (the message says which, and how to get it)."""


@dataclass(frozen=True)
class Row:
    """One line of the table: ``namespace`` (the reference's names, by ``reference()``) against ``ember``
    (``ember_check()`` returns a predicate telling whether Ember has a name)."""

    namespace: str
    ember: str
    reference: Callable[[], list[str]]
    ember_check: Callable[[], Callable[[str], bool]]


def public_names(namespace: str) -> list[str]:
    """torch's public names in ``namespace``: no underscore, no submodule, no typing or stdlib import."""
    import torch

    if namespace == "torch.Tensor":
        return sorted(name for name in dir(torch.Tensor) if not name.startswith("_"))
    return module_public_names(importlib.import_module(namespace), keep_tensor=namespace == "torch")


def module_public_names(module, keep_tensor: bool = False) -> list[str]:
    """A module's public names: no underscore, no submodule, no typing / stdlib helper, not torch.Tensor
    (imported for type hints) unless ``keep_tensor``."""
    import torch

    names = []
    for name in dir(module):
        if name.startswith("_"):
            continue
        value = getattr(module, name, None)
        if not _is_api(value) or (value is torch.Tensor and not keep_tensor):
            continue
        names.append(name)
    return sorted(names)


def _is_api(value) -> bool:
    """False for submodules, documentation dicts, flags and typing / stdlib helpers imported by torch."""
    if isinstance(value, (types.ModuleType, dict, bool)):
        return False
    module = getattr(value, "__module__", None) or ""  # (floats such as torch.pi have none: kept)
    return not module.startswith(("typing", "collections", "builtins", "abc", "__future__"))


def left_out_reason(namespace: str, name: str) -> str | None:
    """Why Ember leaves ``namespace.name`` out, or None when it counts."""
    if (namespace, name) in KEPT:
        return None
    for where, pattern, reason in LEFT_OUT:
        if where in ("*", namespace) and fnmatch.fnmatchcase(name, pattern):
            return reason
    return None


def _ember_object(path: str):
    import ember

    if path == "ember":
        return ember
    if path == "ember.Tensor":
        return ember.Tensor
    return importlib.import_module(path)


def _has(obj, name: str) -> bool:
    """Whether ``obj`` has attribute ``name``; a property that raises ("not attached to a Trainer") exists."""
    try:
        getattr(obj, name)
    except AttributeError:
        return False
    except Exception:  # noqa: BLE001 (the attribute is there; it only cannot answer on a bare object)
        return True
    return True


def _attributes_of(path: str) -> Callable[[], Callable[[str], bool]]:
    def check():
        obj = _ember_object(path)
        return lambda name: _has(obj, name)

    return check


# -- the references other than torch: Lightning, torchvision, torchaudio --------------------------------------
def _import_reference(name: str):
    """Imports ``name`` (torchvision, torchaudio, Lightning) as the parity tests do, or raises ``Unavailable``."""
    import pytest

    from tests.audio._torchaudio import import_torchaudio
    from tests.vision._torchvision import import_torchvision

    try:
        if name.startswith("torchvision"):
            import_torchvision()
        elif name.startswith("torchaudio"):
            import_torchaudio()
        elif name.startswith("lightning"):
            try:
                import_torchvision()  # (Lightning's torchmetrics imports torchvision; without it, it does not)
            except pytest.skip.Exception:
                pass
        return importlib.import_module(name)
    except pytest.skip.Exception as skipped:
        raise Unavailable(str(skipped)) from None
    except ImportError as error:
        raise Unavailable(f"{name} is not installed ({error}); pip install it to measure this row") from None


def _module_names(name: str) -> Callable[[], list[str]]:
    return lambda: module_public_names(_import_reference(name))


def _lightning_class_members(cls_name: str, callables: bool) -> list[str]:
    """The public callables (or other attributes) that Lightning's own classes in ``cls_name``'s MRO define."""
    import torch

    cls = getattr(_import_reference("lightning.pytorch"), cls_name)
    names = []
    for name in dir(cls):
        if name.startswith("_"):
            continue
        owner = next(klass for klass in cls.__mro__ if name in vars(klass))
        if owner in (torch.nn.Module, object):
            continue  # (nn.Module's own methods are counted under torch.nn)
        value = inspect.getattr_static(cls, name)
        is_callable = callable(value) or isinstance(value, (classmethod, staticmethod))
        if is_callable == callables and not isinstance(value, type):
            names.append(name)
    return sorted(names)


def _trainer_arguments() -> list[str]:
    trainer = _import_reference("lightning.pytorch").Trainer
    return [name for name in inspect.signature(trainer.__init__).parameters if name != "self"]


def _ember_training_module():
    from ember.trainer import TrainingModule

    module = TrainingModule()
    return lambda name: _has(module, name)


def _ember_datamodule():
    from ember.trainer import DataModule

    datamodule = DataModule()
    return lambda name: _has(datamodule, name)


def _ember_trainer_arguments():
    from ember.trainer import Trainer

    parameters = set(inspect.signature(Trainer.__init__).parameters)
    return lambda name: name in parameters


def _ember_trainer():
    from ember.trainer import Trainer

    root = tempfile.mkdtemp(prefix="ember-coverage-")
    trainer = Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=root)
    return lambda name: _has(trainer, name)


def _torch_row(namespace: str, ember_path: str) -> Row:
    return Row(namespace, ember_path, lambda: public_names(namespace), _attributes_of(ember_path))


REFERENCE_ROWS = [
    Row(_LM, "ember.trainer.TrainingModule",
        lambda: _lightning_class_members("LightningModule", callables=True), _ember_training_module),
    Row(_LM_PROPERTIES, "ember.trainer.TrainingModule",
        lambda: _lightning_class_members("LightningModule", callables=False), _ember_training_module),
    Row("lightning.pytorch.LightningDataModule", "ember.trainer.DataModule",
        lambda: _lightning_class_members("LightningDataModule", callables=True)
        + _lightning_class_members("LightningDataModule", callables=False), _ember_datamodule),
    Row(_TRAINER_ARGS, "ember.trainer.Trainer.__init__", _trainer_arguments, _ember_trainer_arguments),
    Row(_TRAINER, "ember.trainer.Trainer",
        lambda: _lightning_class_members("Trainer", callables=True)
        + _lightning_class_members("Trainer", callables=False), _ember_trainer),
    Row("lightning.pytorch.callbacks", "ember.trainer.callbacks", _module_names("lightning.pytorch.callbacks"),
        _attributes_of("ember.trainer.callbacks")),
    Row("lightning.pytorch.loggers", "ember.trainer.loggers", _module_names("lightning.pytorch.loggers"),
        _attributes_of("ember.trainer.loggers")),
    Row("torchvision.ops", "ember.vision.ops", _module_names("torchvision.ops"),
        _attributes_of("ember.vision.ops")),
    Row("torchvision.transforms.v2", "ember.vision.transforms.v2", _module_names("torchvision.transforms.v2"),
        _attributes_of("ember.vision.transforms.v2")),
    Row("torchaudio.functional", "ember.audio.functional", _module_names("torchaudio.functional"),
        _attributes_of("ember.audio.functional")),
    Row("torchaudio.transforms", "ember.audio.transforms", _module_names("torchaudio.transforms"),
        _attributes_of("ember.audio.transforms")),
]


def all_rows() -> list[Row]:
    return [_torch_row(namespace, ember_path) for namespace, ember_path in NAMESPACES] + REFERENCE_ROWS


def coverage(rows: list[Row] | None = None) -> list[dict]:
    """One result per row: counts, the missing names and the names left out (name -> reason); a row whose
    reference is not installed has ``skipped`` (the reason) and no counts."""
    results = []
    for row in all_rows() if rows is None else rows:
        try:
            names = row.reference()
        except Unavailable as reason:
            results.append({"namespace": row.namespace, "ember": row.ember, "skipped": str(reason)})
            continue
        try:
            has, import_error = row.ember_check(), None
        except ImportError as error:  # (a namespace Ember lacks, or one that fails to import: said below)
            has, import_error = (lambda name: False), f"{type(error).__name__}: {error}"
        counted, missing, left_out = [], [], {}
        for name in names:
            present = has(name)
            reason = None if present else left_out_reason(row.namespace, name)  # (a name Ember has counts)
            if reason is not None:
                left_out[name] = reason
                continue
            counted.append(name)
            if not present:
                missing.append(name)
        present = len(counted) - len(missing)
        results.append({
            "namespace": row.namespace, "ember": row.ember, "counted": len(counted), "present": present,
            "missing": missing, "left_out": left_out, "import_error": import_error, "skipped": None,
            "percent": 100.0 * present / len(counted) if counted else 100.0,
        })
    return results


def format_text(rows: list[dict], show_left_out: bool = False) -> str:
    measured = [row for row in rows if not row["skipped"]]
    width = max(len(row["namespace"]) for row in rows)
    lines = [f"{'namespace':<{width}}  {'in Ember':>8}  {'counted':>7}  {'coverage':>8}  {'left out':>8}"]
    for row in rows:
        if row["skipped"]:
            lines.append(f"{row['namespace']:<{width}}  skipped: {row['skipped']}")
            continue
        lines.append(f"{row['namespace']:<{width}}  {row['present']:>8}  {row['counted']:>7}  "
                     f"{row['percent']:>7.1f}%  {len(row['left_out']):>8}")
    present, counted = sum(r["present"] for r in measured), sum(r["counted"] for r in measured)
    lines.append(f"{'all':<{width}}  {present:>8}  {counted:>7}  {100.0 * present / max(counted, 1):>7.1f}%  "
                 f"{sum(len(r['left_out']) for r in measured):>8}")
    for row in measured:
        if row["import_error"]:
            lines += ["", f"{row['ember']} does not import: {row['import_error']}"]
        if row["missing"]:
            lines += ["", f"missing from {row['ember']} ({len(row['missing'])}):", _wrap(row["missing"])]
    if show_left_out:
        for row in measured:
            if row["left_out"]:
                lines += ["", f"left out of {row['namespace']}:"]
                lines += [f"  {name}: {reason}" for name, reason in sorted(row["left_out"].items())]
    return "\n".join(lines)


def format_markdown(rows: list[dict], show_left_out: bool = False) -> str:
    measured = [row for row in rows if not row["skipped"]]
    lines = ["| namespace | in Ember | counted | coverage | left out on purpose |", "|---|---:|---:|---:|---:|"]
    for row in rows:
        if row["skipped"]:
            lines.append(f"| `{row['namespace']}` | | | skipped: {row['skipped']} | |")
            continue
        lines.append(f"| `{row['namespace']}` | {row['present']} | {row['counted']} | {row['percent']:.1f}% "
                     f"| {len(row['left_out'])} |")
    present, counted = sum(r["present"] for r in measured), sum(r["counted"] for r in measured)
    lines.append(f"| all | {present} | {counted} | {100.0 * present / max(counted, 1):.1f}% "
                 f"| {sum(len(r['left_out']) for r in measured)} |")
    for row in measured:
        if row["import_error"]:
            lines += ["", f"`{row['ember']}` does not import: {row['import_error']}"]
        if row["missing"]:
            names = ", ".join(f"`{name}`" for name in row["missing"])
            lines += ["", f"Missing from `{row['ember']}` ({len(row['missing'])}): {names}"]
    if show_left_out:
        for row in measured:
            if row["left_out"]:
                lines += ["", f"Left out of `{row['namespace']}`:", ""]
                lines += [f"- `{name}`: {reason}" for name, reason in sorted(row["left_out"].items())]
    return "\n".join(lines)


def _wrap(names: list[str], width: int = 108) -> str:
    lines, line = [], "  "
    for name in names:
        if len(line) + len(name) + 1 > width:
            lines.append(line.rstrip())
            line = "  "
        line += name + " "
    lines.append(line.rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_coverage", description=__doc__.split("\n")[0])
    parser.add_argument("--markdown", action="store_true", help="print Markdown to paste into the docs")
    parser.add_argument("--left-out", action="store_true", help="also list the names left out on purpose")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # (`python -m benchmarks.api_coverage | head` ends quietly)
    rows = coverage()
    print(format_markdown(rows, args.left_out) if args.markdown else format_text(rows, args.left_out))


if __name__ == "__main__":
    main()
