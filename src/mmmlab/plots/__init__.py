"""Figure functions: data in, matplotlib Figure out (Agg backend; never shown, never saved here)."""
