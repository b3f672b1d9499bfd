import pytest

from radio_mm.evaluation.metrics import TeacherAgreement


def test_means_over_images_with_distill_prefix():
    metric = TeacherAgreement()
    metric.dataset_meta = {}
    metric.process({}, [dict(clip_feature_cos=0.5, sam_feature_mse=2.0),
                        dict(clip_feature_cos=0.7, sam_feature_mse=4.0)])
    metric.process({}, [dict(clip_feature_cos=0.9, sam_feature_mse=0.0)])
    results = metric.evaluate(size=3)
    assert results == pytest.approx({'distill/clip_feature_cos': 0.7,
                                     'distill/sam_feature_mse': 2.0})
