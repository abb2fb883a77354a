"""The model zoo: corpora, tokenizers, n-gram and neural language models, training and comparison."""
