"""tools/dist_launch.sh (sourced by dist_train.sh / dist_test.sh): the multi-node variables,
checked before torchrun would wait for a rendezvous that cannot happen.

The launch itself (2 nodes of one process on localhost) is run in
tests/test_e2e/test_distill_train.py.
"""
import os
import subprocess

import pytest


def launch(repo_root, script, *args, **variables):
    """Run ``script`` with ``echo`` as its Python: (exit status, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('NNODES', 'NODE_RANK', 'MASTER_ADDR', 'PORT')}
    env.update(PYTHON='echo', **variables)
    result = subprocess.run(['bash', f'tools/{script}', *args], cwd=repo_root, env=env,
                            capture_output=True, text=True)
    return result.returncode, result.stdout, result.stderr


def test_nodes_take_the_mm_toolboxes_variables(repo_root):
    status, out, err = launch(repo_root, 'dist_train.sh', 'cfg.py', '4', '--amp', NNODES='2',
                              NODE_RANK='1', MASTER_ADDR='10.0.0.1', PORT='29600')
    assert status == 0, err
    assert out.split() == [
        '-m', 'torch.distributed.run', '--nnodes=2', '--node_rank=1', '--master_addr=10.0.0.1',
        '--master_port=29600', '--nproc_per_node=4', 'tools/train.py', 'cfg.py', '--launcher',
        'pytorch', '--amp']
    assert 'node 1 of 2, 4 processes here, world size 8, rendezvous at 10.0.0.1:29600' in err
    status, out, err = launch(repo_root, 'dist_test.sh', 'cfg.py', 'ckpt.pth', '2')
    assert status == 0 and 'tools/test.py cfg.py ckpt.pth --launcher pytorch' in out
    assert '--nnodes=1 --node_rank=0 --master_addr=127.0.0.1 --master_port=29500' in out
    assert 'MASTER_ADDR is not set' not in err  # one node: localhost is right


@pytest.mark.parametrize('args, variables, message', [
    (['cfg.py'], {}, "GPUS (processes on this node) must be a positive integer, got ''"),
    (['cfg.py', '1'], dict(NNODES='2', NODE_RANK='2'),
     "NODE_RANK must be one of 0..1 (NNODES=2), got '2'"),
    (['cfg.py', '1'], dict(NNODES='two'), "NNODES must be a positive integer, got 'two'"),
    (['cfg.py', '1'], dict(PORT='70000'), "PORT must be a TCP port (1..65535), got '70000'"),
])
def test_impossible_launches_are_refused_naming_the_variable(repo_root, args, variables,
                                                             message):
    status, out, err = launch(repo_root, 'dist_train.sh', *args, **variables)
    assert status == 2 and not out
    assert message in err


def test_a_node_without_master_addr_is_warned(repo_root):
    status, out, err = launch(repo_root, 'dist_train.sh', 'cfg.py', '1', NNODES='2',
                              NODE_RANK='1')
    assert status == 0 and '--master_addr=127.0.0.1' in out
    assert 'MASTER_ADDR is not set: node 1 looks for node 0 at 127.0.0.1' in err
