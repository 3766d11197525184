from otpgate import Token, TokenState, TokenType, verify
from otpgate.cli import main


def test_rfc4226_first_codes() -> None:
    token = Token(TokenType("HOTP", 0, 6), b"12345678901234567890")
    assert [token.code(i) for i in range(3)] == ["755224", "287082", "359152"]
    assert verify(token, TokenState(0), "359152", now=0).state.counter == 3


def test_cli_without_command_fails_cleanly(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([]) == 1
