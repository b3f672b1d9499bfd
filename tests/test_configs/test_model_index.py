"""OpenMMLab model-zoo files: model-index.yml and one metafile.yml per config family.

Every entry points at a config that exists, states task, dataset and where its reference
metric comes from, and agrees with the results table of its family's README (the README
stays the page people read; the metafile is what mim and model-zoo tools read). Weights
links are official release URLs (radio_mm/models/official_releases.py).
"""
import re
from pathlib import Path

import pytest
import yaml

from radio_mm.formats.official_releases import RELEASES

REPO = Path(__file__).resolve().parents[2]
INDEX = yaml.safe_load((REPO / 'model-index.yml').read_text())
METAFILES = [REPO / path for path in INDEX['Import']]


def models():
    for path in METAFILES:
        for model in yaml.safe_load(path.read_text())['Models']:
            yield pytest.param(path, model, id=model['Name'])


def readme_rows(readme):
    """Config file name -> table cells, for the rows of a README's results table."""
    rows = {}
    for line in readme.read_text().splitlines():
        match = re.match(r'\| \[([^\]]+\.py)\]', line)
        if match:
            rows[match[1]] = [c.strip() for c in line.strip().strip('|').split('|')]
    return rows


def test_every_config_family_has_a_metafile():
    families = {p.parent.name for p in (REPO / 'configs').glob('*/README.md')}
    assert {p.parent.name for p in METAFILES} == families
    assert all(p.is_file() for p in METAFILES)


@pytest.mark.parametrize('path', METAFILES, ids=lambda p: p.parent.name)
def test_metafile_lists_every_config_of_its_readme_table(path):
    metafile = yaml.safe_load(path.read_text())
    (collection, ) = metafile['Collections']
    listed = {Path(m['Config']).name for m in metafile['Models']}
    assert listed == set(readme_rows(REPO / collection['README']))
    assert all(m['In Collection'] == collection['Name'] for m in metafile['Models'])


@pytest.mark.parametrize('path,model', models())
def test_entry_points_at_a_config_and_matches_the_readme(path, model):
    config = REPO / model['Config']
    assert config.is_file(), model['Config']
    (result, ) = model['Results']
    assert result['Task'] and result['Dataset'] and result['Source']
    cells = readme_rows(path.parent / 'README.md')[config.name]
    for metric, value in result['Metrics'].items():
        assert str(value) in cells, (metric, value, cells)
    if not result['Metrics']:
        assert 'none published' in result['Source'] or 'no trained' in result['Source']
    if 'Weights' in model:
        assert model['Weights'] in {release.url for release in RELEASES.values()}
