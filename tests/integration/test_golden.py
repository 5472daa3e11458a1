"""Every derived number of the demo data set, as frozen in tests/golden/ (see its docstring)."""

import numpy as np
import pandas as pd
import pytest

from tests import golden


@pytest.fixture(scope="module")
def fresh(tmp_path_factory) -> dict[str, pd.DataFrame]:
    workdir = tmp_path_factory.mktemp("golden")
    return golden.build(workdir, f"sqlite:///{workdir / 'warehouse.sqlite'}")


@pytest.mark.slow
@pytest.mark.parametrize("table", list(golden.TABLES))
def test_derived_tables_match_the_golden_outputs(fresh, table, capsys):
    capsys.readouterr()
    frozen, now = golden.read(table), fresh[table]
    assert list(now.columns) == list(frozen.columns)
    assert len(now) == len(frozen), f"{table}: {len(now)} rows, frozen {len(frozen)}"
    for column in frozen.columns:
        a, b = now[column], frozen[column]
        if pd.api.types.is_numeric_dtype(b) and not pd.api.types.is_bool_dtype(b):
            np.testing.assert_allclose(
                a.to_numpy(dtype=float),
                b.to_numpy(dtype=float),
                rtol=1e-12,
                atol=1e-12,
                err_msg=f"{table}.{column}",
            )
        else:
            left = a.astype(str).where(a.notna(), "")
            right = b.astype(str).where(b.notna(), "")
            mismatch = left != right
            assert not mismatch.any(), (
                f"{table}.{column}: {left[mismatch].iloc[0]!r} != {right[mismatch].iloc[0]!r}"
            )
