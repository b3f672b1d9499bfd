import pytest
import torch
from tiny_models import tiny_vit

from radio_mm.analysis import benchmark_distill_step, benchmark_model, build_model
from radio_mm.analysis.benchmark import PeakMemory, meta_flops, results_table
from radio_mm.registry import MODELS

TINY_VIT = tiny_vit(cpe_max_size=256, num_summary_tokens=2, register_multiple=4)


def test_benchmark_model_reports_consistent_numbers():
    model = MODELS.build(TINY_VIT)
    row = benchmark_model(model, batch_size=2, hw=(64, 96), warmup=1, runs=3)
    assert row['height'] == 64 and row['width'] == 96 and row['runs'] == 3
    assert row['latency_ms_min'] <= row['latency_ms'] <= row['latency_ms_max']
    assert row['throughput'] == pytest.approx(2 / (row['latency_ms'] / 1e3))
    assert row['params_m'] == pytest.approx(sum(p.numel() for p in model.parameters()) / 1e6)
    # FLOPs from the real run equal those counted on shapes alone.
    assert row['gflops_per_image'] == pytest.approx(
        meta_flops(lambda: MODELS.build(TINY_VIT), (64, 96)) / 1e9)
    assert row['peak_memory_mib'] >= 0 and row['memory_metric'].startswith('cpu')
    assert 'RADIOViT' in results_table([dict(row, model='RADIOViT')])


def test_peak_memory_sees_an_allocation():
    with PeakMemory('cpu') as memory:
        block = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del block
    # A lifetime-peak fallback cannot see it if the process peaked higher before.
    if memory.metric.startswith('cpu_peak_rss'):
        assert memory.peak_mib > 50


def test_distill_step_splits_teacher_and_student_time(repo_root):
    distiller = build_model(f'{repo_root}/configs/distill/radio_demo.py',
                            quiet_random_weights=True)
    row = benchmark_distill_step(distiller, batch_size=4, hw=(128, 128), warmup=0, runs=1)
    assert set(row['teacher_ms_by_name']) == {'clip', 'dino_v2', 'sam'}
    assert all(ms > 0 for ms in row['teacher_ms_by_name'].values())
    assert row['teacher_ms'] == pytest.approx(sum(row['teacher_ms_by_name'].values()))
    assert row['student_ms'] > 0 and row['step_ms'] == pytest.approx(
        row['teacher_ms'] + row['student_ms'])
    assert 0 < row['teacher_share'] < 1
    # The step really trained the student: its parameters hold gradients.
    assert any(p.grad is not None for p in distiller.student.parameters())
