"""The ShopBench submission runtime: data, official parsing and scoring, local evaluation."""
