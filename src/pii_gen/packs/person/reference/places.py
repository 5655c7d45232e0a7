"""States, ZIP codes, area codes and street parts: the address samplers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ....core.sampling import GroupedSampler, Sampler
from .model import Places
from .tables import RACES, _csr, _index, _np, _read


def _places() -> Places:
    st = _read("states").sort_by("state")
    states = st.column("state").combine_chunks()
    n_states = len(states)
    zc = _read("zip_codes")
    ztype = _np(zc, "zip_type").astype(str)
    state_idx = _index(zc.column("state"), states)  # -1: military ZIPs (AA/AE/AP)
    pop = _np(zc, "population", np.float64)
    residential = (ztype == "STANDARD") & (pop > 0) & (state_idx >= 0)
    res_idx = np.flatnonzero(residential)

    race_cols = [f"pop_{r}" for r in RACES]
    groups = np.repeat(np.arange(len(RACES)), len(res_idx))
    weights = np.concatenate([_np(zc, c, np.float64)[res_idx] for c in race_cols])
    home_by_race = GroupedSampler(groups, weights, len(RACES), items=np.tile(res_idx, len(RACES)))
    home_by_state = GroupedSampler(state_idx[res_idx], pop[res_idx], n_states, items=res_idx)

    po = np.flatnonzero((ztype == "PO BOX") & (state_idx >= 0))
    po_by_state = GroupedSampler(state_idx[po], np.ones(len(po)), n_states, items=po)
    mil = np.flatnonzero(ztype == "MILITARY")

    ac = _read("area_codes")
    npa = _np(ac, "area_code").astype(np.int64)
    npa_state = _index(ac.column("state"), states)
    state_npas = [set(npa[npa_state == s].tolist()) for s in range(n_states)]
    zip_npas = zc.column("area_codes").to_pylist()
    # Per ZIP: its own area codes that belong to its state, else all of the state's.
    owner, values = [], []
    for z, (codes, s) in enumerate(zip(zip_npas, state_idx.tolist())):
        if s < 0:
            continue
        own = sorted(int(c) for c in (codes or "").split(",") if c and int(c) in state_npas[s])
        chosen = own or sorted(state_npas[s])
        owner.extend([z] * len(chosen))
        values.extend(chosen)
    zstart, zcount = _csr(np.array(owner, dtype=np.int64), len(zc))

    sn = _read("street_names")
    sf = _read("street_suffixes")
    ud = _read("unit_designators")
    ratio = np.ones(n_states)
    if "wage_index" in st.column_names:
        ratio = np.nan_to_num(_np(st, "wage_index", np.float64), nan=1.0)
    county = pc.if_else(pc.equal(zc.column("county"), ""), None, zc.column("county"))
    return Places(
        states=states,
        wage_index=ratio,
        zip_code=zc.column("zip_code").combine_chunks(),
        zip_city=pc.if_else(
            pa.array(ztype == "MILITARY"), pc.utf8_upper(zc.column("city")), zc.column("city")
        ).combine_chunks(),
        zip_state_code=zc.column("state").combine_chunks(),
        zip_county=county.combine_chunks() if isinstance(county, pa.ChunkedArray) else county,
        zip_state=state_idx,
        zip_lat=_np(zc, "latitude", np.float64),
        zip_lon=_np(zc, "longitude", np.float64),
        home_by_race=home_by_race,
        home_by_state=home_by_state,
        po_box_by_state=po_by_state,
        military=Sampler(np.ones(len(mil))),
        military_zips=mil,
        zip_npa_start=zstart,
        zip_npa_count=zcount,
        zip_npa=np.array(values, dtype=np.int64),
        street_vocab=sn.column("name").combine_chunks(),
        street=Sampler(_np(sn, "weight", np.float64)),
        suffix_vocab=sf.column("abbreviation").combine_chunks(),
        suffix=Sampler(_np(sf, "weight", np.float64)),
        street_and_suffix=pc.binary_join_element_wise(
            sn.column("name").combine_chunks().take(pa.array(np.repeat(np.arange(len(sn)), len(sf)))),
            sf.column("abbreviation").combine_chunks().take(pa.array(np.tile(np.arange(len(sf)), len(sn)))),
            " ",
        ),
        unit_vocab=ud.column("abbreviation").combine_chunks(),
        unit=Sampler(_np(ud, "weight", np.float64)),
    )
