"""Column names of the tables the data stages write and later stages read by name.

LoadData, the dataset builder, PreProcess and the pseudo-data resampler all write `wt`; the
training and validation sets add their bookkeeping columns. Naming each once keeps a writer and
its readers from drifting apart.
"""

#: Event weight: the stored `weight` expression at load time, the final weight after PreProcess.
WEIGHT = "wt"
#: The weight expression alone, before `weight_shifts` (the regression models' denominator).
NOMINAL_WEIGHT = "old_wt"
#: WEIGHT / NOMINAL_WEIGHT: the weight change a regression model learns.
WEIGHT_SHIFT = "wt_shift"
#: Split code (train 0, test 1, val 2) of every event of a validation set.
SPLIT_COLUMN = "split"
#: Class label of a classifier training set: 1 shifted, 0 nominal.
CLASSIFIER_TRUTH = "classifier_truth"
