"""Dictionary entries shared by the TOML targets."""

TOML_TOKENS = (
    b"version = 1\n", b"extends = ", b"[", b"]", b"[[", b"]]", b"= ", b"\n[", b".", b"{ ", b" }",
    b"a.b.c", b"\"\\u0000\"", b"\"\\uD800\"", b"'''", b"\"\"\"", b"[" * 200, b"]" * 200,
    b"{a=" * 100, b"}" * 100, b"0x7fffffffffffffff", b"0o777", b"0b1", b"1_000", b"-0.0",
    b"+inf", b"-nan", b"1e308", b"1e309", b"3.4e38", b"1979-05-27T07:32:00-08:00",
    b"07:32:00", b"9" * 5000,
)
