import pytest

from radio_mm.analysis import build_model, describe_spec, load_model_cfg
from radio_mm.models.backbones import RADIOViT
from radio_mm.models.teachers import SAMTeacher


def test_config_dict_string_builds_the_model():
    spec = "dict(type='RADIOViT', arch=dict(embed_dims=32, num_layers=2, num_heads=2))"
    model = build_model(spec)
    assert isinstance(model, RADIOViT) and model.embed_dims == 32
    assert describe_spec(spec) == 'RADIOViT(custom)'
    assert describe_spec("dict(type='ERADIO', arch='l')") == 'ERADIO(l)'


def test_config_file_key_indexes_lists(repo_root):
    spec = f'{repo_root}/configs/distill/radio_demo.py:model.teachers.2'
    cfg, scope = load_model_cfg(spec)
    assert cfg['type'] == 'SAMTeacher' and cfg['img_size'] == 256 and scope == 'radio_mm'
    assert isinstance(build_model(spec, quiet_random_weights=True), SAMTeacher)
    whole, _ = load_model_cfg(f'{repo_root}/configs/distill/radio_demo.py')
    assert whole['type'] == 'RADIODistiller'


def test_bad_specs_say_what_to_write(repo_root):
    with pytest.raises(KeyError, match=r"no key 'teacher' \(available"):
        load_model_cfg(f'{repo_root}/configs/distill/radio_demo.py:model.teacher.0')
    with pytest.raises(KeyError, match='not an index of a list of 3'):
        load_model_cfg(f'{repo_root}/configs/distill/radio_demo.py:model.teachers.5')
    with pytest.raises(FileNotFoundError, match='neither a config dict'):
        load_model_cfg('configs/missing.py:model')
    with pytest.raises(ValueError, match='cannot parse the model spec'):
        load_model_cfg("dict(type='RADIOViT', arch=)")
