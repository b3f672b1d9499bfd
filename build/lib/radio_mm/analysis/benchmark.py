"""Throughput, latency and peak memory of a model's forward pass (and of a distillation step).

Timing: ``warmup`` untimed calls, then ``runs`` timed calls, each bracketed by a device
synchronize; the median is reported (robust to the odd slow run on a shared machine) and
throughput is ``batch_size / median latency``.

Peak memory, in MiB, is what the timed calls add on top of what was already held (weights,
inputs):

* CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus
  ``memory_allocated`` before: tensors only, not the caching allocator's reserve.
* CPU: the process's peak resident set size (``VmHWM``) minus its resident size before,
  after freed heap memory is returned to the OS (``malloc_trim``).
  Linux resets the peak when ``5`` is written to ``/proc/self/clear_refs`` (see proc(5)),
  so this is the peak of these calls alone. Where that file is missing the fallback is
  ``getrusage`` ``ru_maxrss``, a lifetime peak: the delta is then 0 unless these calls set
  a new record (``memory_metric`` says which was used). RSS counts every allocation, not
  just tensors, and is shared by all threads of the process.
"""
import ctypes
import gc
import os
import platform
import resource
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext

import torch
from mmengine.utils import ProgressBar
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

AUTOCAST_DTYPES = {'fp32': None, 'bf16': torch.bfloat16, 'fp16': torch.float16}
MIB = 2**20


def machine_info(device='cpu'):
    """What the numbers were measured on: CPU model, cores, threads, versions, GPU."""
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            cpu = next((line.split(':', 1)[1].strip() for line in f
                        if line.startswith('model name')), cpu)
    except OSError:
        pass
    info = dict(cpu=cpu, logical_cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                torch=torch.__version__, python=platform.python_version(),
                platform=platform.platform())
    if str(device).startswith('cuda') and torch.cuda.is_available():
        info.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda)
    return info


def _synchronize(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _proc_status_kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise OSError(f'{field} not in /proc/self/status')


def release_free_memory():
    """Collect garbage and hand freed memory back to the OS (glibc ``malloc_trim``): a forward
    reusing it then still counts towards the peak RSS, and a benchmark that builds large
    models one after another does not keep every earlier one's heap. No trim without glibc."""
    gc.collect()
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


class PeakMemory:
    """Context manager; afterwards ``peak_mib`` is the peak added inside it (module docstring)
    and ``metric`` names how it was measured."""

    def __init__(self, device):
        self.device = torch.device(device)
        self.peak_mib = None
        self.metric = None

    def __enter__(self):
        if self.device.type == 'cuda':
            _synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._base = torch.cuda.memory_allocated(self.device)
            self.metric = 'cuda_max_memory_allocated'
            return self
        release_free_memory()
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # reset VmHWM to the current RSS
            self._base = _proc_status_kib('VmRSS') * 1024
            self.metric = 'cpu_peak_rss (VmHWM reset)'
        except OSError:
            self._base = self._maxrss_bytes()
            self.metric = 'cpu_maxrss_delta (lifetime peak)'
        return self

    @staticmethod
    def _maxrss_bytes():
        scale = 1 if sys.platform == 'darwin' else 1024  # bytes on macOS, KiB on Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            _synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self.metric.startswith('cpu_peak_rss'):
            peak = _proc_status_kib('VmHWM') * 1024
        else:
            peak = self._maxrss_bytes()
        self.peak_mib = max(peak - self._base, 0) / MIB
        return False


def autocast(device, dtype):
    """Mixed precision as the training recipes use it (weights stay fp32)."""
    if dtype not in AUTOCAST_DTYPES:
        raise ValueError(f'dtype must be one of {list(AUTOCAST_DTYPES)}, got {dtype!r}')
    if AUTOCAST_DTYPES[dtype] is None:
        return nullcontext()
    return torch.autocast(torch.device(device).type, dtype=AUTOCAST_DTYPES[dtype])


def time_calls(fn, device, warmup=2, runs=10, progress=False):
    """Seconds of each of ``runs`` timed calls of ``fn()`` after ``warmup`` untimed ones."""
    if runs < 1:
        raise ValueError(f'runs must be at least 1, got {runs}')
    device = torch.device(device)
    bar = ProgressBar(warmup + runs, file=sys.stderr) if progress else None
    for _ in range(warmup):
        fn()
        _synchronize(device)
        if bar:
            bar.update()
    seconds = []
    for _ in range(runs):
        _synchronize(device)
        start = time.perf_counter()
        fn()
        _synchronize(device)
        seconds.append(time.perf_counter() - start)
        if bar:
            bar.update()
    if bar:
        sys.stderr.write('\n')
    return seconds


def time_interleaved(calls, device, warmup=1, runs=5, progress=False):
    """Seconds of each timed call of several ``calls`` (name -> fn), taken in turns.

    Alternating the models, rather than timing one after the other, exposes every model to
    the same changes of machine load, so their ratio is steadier on a shared machine.
    """
    bar = ProgressBar((warmup + runs) * len(calls), file=sys.stderr) if progress else None
    seconds = {name: [] for name in calls}
    for i in range(warmup + runs):
        for name, fn in calls.items():
            elapsed = time_calls(fn, device, 0, 1)[0]
            if i >= warmup:
                seconds[name].append(elapsed)
            if bar:
                bar.update()
    if bar:
        sys.stderr.write('\n')
    return seconds


def count_flops(fn):
    """FLOPs of one call of ``fn()`` (matmuls, convolutions, attention; a multiply-add is 2).

    Attention runs on the math backend while counting: torch's counter has no formula for the
    fused CPU kernel and would silently leave attention out.
    """
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:
        fn()
    return counter.get_total_flops()


def meta_flops(build, hw, batch_size=1, call=None):
    """FLOPs per image of a model's forward at ``hw``, counted without computing anything:
    ``build()`` runs under ``torch.device('meta')`` so weights and activations are shapes only.

    Args:
        build (callable): returns the model.
        call (callable | None): ``call(model, images)``; default :func:`forward_call`.
    """
    with torch.device('meta'):
        model = build().eval()
        images = torch.rand(batch_size, 3, *hw)
    with torch.inference_mode():
        flops = count_flops(lambda: (call(model, images) if call else
                                     forward_call(model)(images)))
    return flops / batch_size


def summarize(seconds, batch_size):
    median = statistics.median(seconds)
    return dict(latency_ms=1e3 * median, latency_ms_min=1e3 * min(seconds),
                latency_ms_max=1e3 * max(seconds), throughput=batch_size / median)


def forward_call(model):
    """What "a forward" is: a RADIO backbone's ``forward_radio`` (summary and features, the
    students' real output), anything else's ``forward`` (teachers take [0, 1] images)."""
    return getattr(model, 'forward_radio', model)


def benchmark_model(model, batch_size=1, hw=(224, 224), dtype='fp32', device='cpu', warmup=2,
                    runs=10, flops=True, progress=False, fn=None):
    """Time ``model`` on random (B, 3, H, W) images in [0, 1].

    Args:
        model (nn.Module): any backbone, RADIO model or teacher.
        hw (tuple[int, int]): input (H, W) in pixels.
        dtype (str): ``'fp32'``, or ``'bf16'``/``'fp16'`` autocast.
        flops (bool): count FLOPs, in the first warm-up call (an extra call if
            ``warmup`` is 0).
        fn (callable | None): ``fn(images)`` to time instead of :func:`forward_call`.

    Returns:
        dict: batch_size, height, width, dtype, device, warmup, runs, latency_ms (median
        per batch), latency_ms_min/max, throughput (images/s), peak_memory_mib,
        memory_metric, params_m, gflops_per_image (None without ``flops``).
    """
    device = torch.device(device)
    model = model.to(device).eval()
    call = fn or forward_call(model)
    images = torch.rand(batch_size, 3, *hw, device=device)

    def step():
        with torch.inference_mode(), autocast(device, dtype):
            call(images)

    gflops = None
    if flops:  # counted in the first warm-up call, which is not timed anyway
        gflops = count_flops(step) / batch_size / 1e9
    with PeakMemory(device) as memory:
        seconds = time_calls(step, device, max(warmup - flops, 0), runs, progress)
    return dict(batch_size=batch_size, height=hw[0], width=hw[1], dtype=dtype,
                device=str(device), warmup=warmup, runs=runs, **summarize(seconds, batch_size),
                peak_memory_mib=memory.peak_mib, memory_metric=memory.metric,
                params_m=sum(p.numel() for p in model.parameters()) / 1e6,
                gflops_per_image=gflops)


@contextmanager
def _timed_teachers(teachers, device, totals):
    """Add each teacher forward's seconds to ``totals[name]`` while inside."""
    handles = []
    for name, teacher in teachers.items():
        def start(module, args, name=name):
            _synchronize(device)
            totals[name] -= time.perf_counter()

        def stop(module, args, output, name=name):
            _synchronize(device)
            totals[name] += time.perf_counter()

        handles += [teacher.register_forward_pre_hook(start),
                    teacher.register_forward_hook(stop)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def benchmark_distill_step(distiller, batch_size=2, hw=(256, 256), dtype='fp32', device='cpu',
                           warmup=1, runs=3, progress=False):
    """Time one distillation step (``loss`` + ``backward``; no optimizer update) and split it
    into the teachers' forwards and the rest (student forward + backward, adaptor heads,
    losses), measured inside the same steps with forward hooks on the teachers.

    Returns:
        dict: step_ms, teacher_ms, student_ms (medians per step), teacher_ms_by_name,
        teacher_share, and the batch/input/run settings.
    """
    device = torch.device(device)
    distiller = distiller.to(device).train()
    images = torch.rand(batch_size, 3, *hw, device=device)
    step_s, teacher_s, by_name = [], [], {name: [] for name in distiller.teachers}

    def step():
        totals = dict.fromkeys(distiller.teachers, 0.0)
        distiller.zero_grad(set_to_none=True)
        _synchronize(device)
        start = time.perf_counter()
        with _timed_teachers(distiller.teachers, device, totals), autocast(device, dtype):
            losses = distiller.loss(images)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        _synchronize(device)
        return time.perf_counter() - start, totals

    bar = ProgressBar(warmup + runs, file=sys.stderr) if progress else None
    for i in range(warmup + runs):
        seconds, totals = step()
        if i >= warmup:
            step_s.append(seconds)
            teacher_s.append(sum(totals.values()))
            for name, value in totals.items():
                by_name[name].append(value)
        if bar:
            bar.update()
    if bar:
        sys.stderr.write('\n')
    step_ms = 1e3 * statistics.median(step_s)
    teacher_ms = 1e3 * statistics.median(teacher_s)
    return dict(batch_size=batch_size, height=hw[0], width=hw[1], dtype=dtype,
                device=str(device), warmup=warmup, runs=runs, step_ms=step_ms,
                teacher_ms=teacher_ms, student_ms=step_ms - teacher_ms,
                teacher_share=teacher_ms / step_ms,
                teacher_ms_by_name={k: 1e3 * statistics.median(v) for k, v in by_name.items()})


def results_table(rows, title=None):
    """A prettytable of :func:`benchmark_model` results (one row each, labelled by 'model')."""
    from prettytable import PrettyTable
    table = PrettyTable(['model', 'input', 'dtype', 'device', 'latency ms', 'images/s',
                         'peak MiB', 'GFLOPs/img', 'params M'], title=title)
    for row in rows:
        gflops = row.get('gflops_per_image')
        table.add_row([
            row.get('model', '?'), f"{row['batch_size']}x3x{row['height']}x{row['width']}",
            row['dtype'], row['device'], f"{row['latency_ms']:.1f}",
            f"{row['throughput']:.2f}", f"{row['peak_memory_mib']:.0f}",
            '-' if gflops is None else f'{gflops:.3g}', f"{row['params_m']:.3g}"])
    table.align['model'] = 'l'
    return table.get_string()
