import json
import subprocess

FIELDS = {'model', 'spec', 'batch_size', 'height', 'width', 'dtype', 'device', 'warmup',
          'runs', 'latency_ms', 'latency_ms_min', 'latency_ms_max', 'throughput',
          'peak_memory_mib', 'memory_metric', 'params_m', 'gflops_per_image'}


def test_benchmark_tool_writes_json(tmp_path, python, repo_root):
    out = tmp_path / 'bench.json'
    vit = "dict(type='RADIOViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2))"
    result = subprocess.run(
        [python, 'tools/analysis_tools/benchmark.py', '--model', vit, '--model',
         'configs/distill/radio_demo.py:model.teachers.1', '--resolution', '64', '64x96',
         '--batch-size', '2', '--device', 'cpu', '--warmup', '1', '--runs', '2',
         '--no-progress', '--out', str(out)],
        cwd=repo_root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert {'cpu', 'logical_cores', 'torch'} <= set(report['machine'])
    rows = report['results']
    assert [(r['model'], r['height'], r['width']) for r in rows] == [
        ('RADIOViT(custom)', 64, 64), ('RADIOViT(custom)', 64, 96),
        ('DINOv2Teacher(vit_small_patch14_reg4_dinov2)', 64, 64),
        ('DINOv2Teacher(vit_small_patch14_reg4_dinov2)', 64, 96)]
    for row in rows:
        assert FIELDS <= set(row) and row['batch_size'] == 2 and row['throughput'] > 0
    # The teacher resizes to its own 112 px, so the input size does not change its FLOPs.
    assert rows[2]['gflops_per_image'] == rows[3]['gflops_per_image'] > 0
    assert 'latency ms' in result.stdout and 'DINOv2Teacher' in result.stdout
