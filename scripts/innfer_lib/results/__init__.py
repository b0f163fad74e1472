"""What the fits mean: result records with intervals, closure summaries, χ², tables, rounding."""
