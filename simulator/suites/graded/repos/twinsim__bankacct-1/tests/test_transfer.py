import pytest

from bankacct.account import Account, InsufficientFunds
from bankacct.transfer import transfer


def test_transfer():
    a, b = Account("a", 100), Account("b")
    transfer(a, b, 30)
    assert (a.balance, b.balance) == (70, 30)


def test_overdraw_refused():
    a = Account("a", 10)
    with pytest.raises(InsufficientFunds):
        a.withdraw(11)
