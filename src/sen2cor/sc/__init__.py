"""Scene classification (Sen2Cor 2.11 "evolution" and 2.9 "classic" algorithms), facts §6 and §8.

Entry points: :func:`sen2cor.sc.classify.classify` (the ordered chain, returns :class:`ScResult`),
:class:`sen2cor.sc.thresholds.ScThresholds` (SC GIPP thresholds), :class:`sen2cor.sc.classes.SceneClass`
(SCL codes) and :func:`sen2cor.sc.quality.scene_percentages` (quality percentages).
"""
