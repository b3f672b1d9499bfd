"""Install radio_mm. Requirements live in requirements/*.txt; tools/setup_env.sh installs them."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open(osp.join(osp.dirname(__file__), 'radio_mm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


def read_requirements(name):
    path = osp.join(osp.dirname(__file__), 'requirements', name)
    with open(path) as f:
        lines = (line.split('#')[0].strip() for line in f)
        return [line for line in lines if line]


def toolbox_extras():
    """``pip install radio_mm[seg|det|cls|all]``: mmcv and the toolbox of each task, with the
    pins of requirements/mminstall.txt (radio_mm/utils/toolboxes.py names them in errors)."""
    pins = {line.split('==')[0].split('>')[0]: line for line in read_requirements('mminstall.txt')}
    common = [pins['mmcv']]
    return dict(seg=common + [pins['mmsegmentation'], pins['ftfy'], pins['regex']],
                det=common + [pins['mmdet'], pins['ftfy'], pins['regex']],
                cls=common + [pins['mmpretrain']],
                all=list(pins.values()))


setup(
    name='radio_mm',
    version=read_version(),
    description='AM-RADIO agglomerative distillation and downstream tasks for OpenMMLab',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'benchmarks')),
    python_requires='>=3.10',
    install_requires=read_requirements('runtime.txt'),
    extras_require=dict(
        mim=read_requirements('mminstall.txt'),
        tests=read_requirements('tests.txt'),
        optional=read_requirements('optional.txt'),
        **toolbox_extras(),
    ),
    license='Apache License 2.0',
    zip_safe=False,
)
