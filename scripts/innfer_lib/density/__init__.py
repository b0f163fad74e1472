"""Density models p(x | θ): the normalizing flow, its training, loading and sampling.

The flow, smallest pieces first: ``architecture`` (options, validation, saved signature),
``dense`` (activations, dense layer, conditioner MLP), ``spline`` (rational-quadratic spline
maths), ``mixing`` (learnable LU permutation), ``tensor_ops`` (graph-lean tensor plumbing),
``transform`` (affine and spline transforms), ``coupling`` (the coupling layer) and ``flow``
(:class:`~innfer_lib.density.flow.ConditionalFlow`). Training: ``training_options``,
``optimisers`` (optimisers and learning-rate schedules), ``checkpoint`` (resume) and
``training`` (the loop); ``train_job`` joins them to PreProcess outputs. Using a density:
``models`` (the :class:`~innfer_lib.density.models.Density` contract, learned and true) and
``sampling`` (MakeAsimov, EvaluateDensity).
"""
