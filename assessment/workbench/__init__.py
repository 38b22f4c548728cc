"""The analyst's workbench: threshold sweep, backtest, rules diff and monitoring."""
