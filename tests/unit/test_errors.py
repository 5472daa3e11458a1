from bizenv.errors import BizenvError


def test_error_messages_are_one_line_naming_file_row_and_column():
    error = BizenvError("connection failed:\n\tIs the server running?", file="f.csv", row=3, column="unit")
    assert str(error) == "f.csv, row 3, column 'unit': connection failed: Is the server running?"
