"""``python -m w2v_cli ...`` runs the trainer, like the ``word2vec`` command."""

from w2v_cli.cli import word2vec_main

if __name__ == "__main__":
    word2vec_main()
