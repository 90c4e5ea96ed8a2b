"""Slope units: half-basins of stream reaches, delineated from a DEM by flow routing.

Steps (all vectorised with numpy and ``scipy.sparse.csgraph``):

1. **Depression filling.** The filled surface W is the exact priority-flood result (Barnes et al. 2014, without
   epsilon): W(c) is the lowest possible "highest elevation" on any path from c to the DEM's edge or to nodata. It
   is computed as a minimax distance: on the 8-neighbour graph with edge weight max(z_u, z_v), plus a virtual outside
   node joined to every edge cell, minimax paths run along the minimum spanning tree, so W(c) is the largest
   elevation on c's tree path to the outside node (found by pointer doubling).
2. **D8 flow directions** on W: the neighbour with the steepest drop (distance-weighted, in metres). Edge cells
   with no lower neighbour drain out of the DEM. Cells on flats (including filled depressions) drain along the
   shortest path (Dijkstra, metres) across the flat to its nearest cell that already drains.
3. **Flow accumulation** in m² (contributing area, the cell's own area included).
4. **Streams**: cells whose accumulation reaches the threshold. The network is split into reaches at confluences
   (a reach starts at a channel head or at the cell below a junction).
5. **Half-basins.** Each reach has an axis: its stream cells, extended above a channel head along the path of
   largest accumulation up to the divide (so a headwater hollow is split too). Each cell belongs to the reach
   whose axis its flow path meets first; it is on the left or right side according to where the path enters the
   axis relative to the axis direction there (seen facing downstream; at a confluence the upstream direction is
   that of the larger tributary). Axis cells belong to the right side of their own reach. Cells that leave the DEM
   before meeting an axis form one unit per outlet cell. Each side is split into 4-connected parts, so every unit
   is one polygon (holes allowed).
6. **Merging.** The smallest unit below ``min_area_m2`` is merged into the neighbour with which it shares the
   longest boundary (ties: the lowest unit id); this repeats until no unit is below the minimum. A unit with no
   neighbour at all (an island of data inside nodata) cannot be merged and may stay smaller.

Labels are 1..n numbered in row-major order of each unit's first cell; 0 marks nodata. The same input always gives
the same labels. Units follow the terrain: their boundaries are ridges (drainage divides) and streams.
"""

from __future__ import annotations

import heapq
import math
import os
from typing import Optional

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from .progress import Progress, report, scaled
from .terrain import GridMetrics, grid_metrics

# D8 neighbours counter-clockwise from east in index space (row - 1 is "up"): (row step, column step).
_OFFSETS = ((0, 1), (-1, 1), (-1, 0), (-1, -1), (0, -1), (1, -1), (1, 0), (1, 1))

# Default stream threshold = this × min_area_m2. A first-order reach drains about one to two thresholds, split
# between two sides and the channel head; this factor puts the median unit of real 10–30 m DEMs at about
# 1.7–2 × min_area after merging (Korea 10 m and Ecuador 10 m DEMs, min areas 2–20 ha).
DEFAULT_THRESHOLD_FACTOR = 1.0

# The stream threshold is never below this many cells, so that single-cell noise does not become a stream.
_MIN_THRESHOLD_CELLS = 10


def default_accumulation_threshold(min_area_m2: float, cell_area_m2: float) -> float:
    """Stream threshold (m²) that gives units of about ``min_area_m2``: see :data:`DEFAULT_THRESHOLD_FACTOR`."""
    return max(DEFAULT_THRESHOLD_FACTOR * float(min_area_m2), _MIN_THRESHOLD_CELLS * float(cell_area_m2))


def _neighbour_index(shape: tuple[int, int], k: int) -> np.ndarray:
    """Flat index of neighbour ``k`` of every cell, -1 outside the raster."""
    rows, cols = shape
    dr, dc = _OFFSETS[k]
    r = np.arange(rows)[:, np.newaxis] + dr
    c = np.arange(cols)[np.newaxis, :] + dc
    idx = r * cols + c
    inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
    return np.where(inside, idx, -1).ravel()


def _pointer_jump(pointer: np.ndarray) -> np.ndarray:
    """Follow ``pointer`` to its fixed points (every chain must end at an index that points to itself)."""
    p = pointer.copy()
    while True:
        nxt = p[p]
        if np.array_equal(nxt, p):
            return p
        p = nxt


def _fill_depressions(
    z: np.ndarray,
    valid: np.ndarray,
    neighbours: list[np.ndarray],
    edge: np.ndarray,
    progress: Optional[Progress] = None,
) -> np.ndarray:
    """Priority-flood filled elevations (NaN outside ``valid``), via the minimum spanning tree."""
    n = z.size
    levels, rank = np.unique(z[valid], return_inverse=True)
    ranks = np.zeros(n, dtype=np.int64)
    ranks[np.flatnonzero(valid)] = rank + 1  # 1..U; 0 is left for the outside node
    us, vs, ws = [], [], []
    for k in (0, 6, 7, 5):  # E, S, SE, SW: every undirected 8-neighbour pair once
        nb = neighbours[k]
        ok = valid & (nb >= 0)
        ok[ok] = valid[nb[ok]]
        u = np.flatnonzero(ok)
        v = nb[u]
        us.append(u)
        vs.append(v)
        ws.append(np.maximum(ranks[u], ranks[v]))
    outlets = np.flatnonzero(edge)
    us.append(np.full(outlets.size, n))
    vs.append(outlets)
    ws.append(ranks[outlets])
    graph = sparse.csr_matrix(
        (np.concatenate(ws).astype(np.float64), (np.concatenate(us), np.concatenate(vs))), shape=(n + 1, n + 1)
    )
    report(progress, 0.2, "filling depressions: spanning tree")
    tree = csgraph.minimum_spanning_tree(graph)
    report(progress, 0.7, "filling depressions: spill levels")
    _, pred = csgraph.breadth_first_order(tree, n, directed=False, return_predecessors=True)
    parent = np.where(pred >= 0, pred, np.arange(n + 1))
    highest = np.append(ranks, 0)
    # Pointer doubling: after j rounds, highest[i] covers the 2^j nearest ancestors.
    while True:
        grand = parent[parent]
        highest = np.maximum(highest, highest[parent])
        if np.array_equal(grand, parent):
            break
        parent = grand
        report(progress, 0.8, "filling depressions: spill levels")
    filled = np.full(n, np.nan)
    filled[valid] = levels[highest[:n][valid] - 1]
    return filled


def _flow_receivers(
    filled: np.ndarray,
    valid: np.ndarray,
    neighbours: list[np.ndarray],
    edge: np.ndarray,
    metrics: GridMetrics,
    shape: tuple[int, int],
) -> np.ndarray:
    """D8 receiver of every cell (flat index), -1 where a cell drains out of the DEM or is nodata."""
    n = filled.size
    row = np.repeat(np.arange(shape[0]), shape[1])
    dx = np.abs(metrics.dx)[row]
    dy = np.abs(metrics.dy)[row]
    dist = [dx, np.hypot(dx, dy), dy, np.hypot(dx, dy), dx, np.hypot(dx, dy), dy, np.hypot(dx, dy)]
    best = np.zeros(n)
    receiver = np.full(n, -1, dtype=np.int64)
    for k, nb in enumerate(neighbours):
        ok = valid & (nb >= 0)
        ok[ok] = valid[nb[ok]]
        drop = np.zeros(n)
        drop[ok] = (filled[ok] - filled[nb[ok]]) / dist[k][ok]
        better = drop > best  # strict: ties keep the first direction in _OFFSETS order
        best[better] = drop[better]
        receiver[better] = nb[better]

    flat = valid & (receiver < 0) & ~edge
    if flat.any():
        us, vs, ws = [], [], []
        for k, nb in enumerate(neighbours):
            ok = flat & (nb >= 0)
            ok[ok] = valid[nb[ok]]
            ok[ok] = filled[nb[ok]] == filled[ok]
            u = np.flatnonzero(ok)
            us.append(u)
            vs.append(nb[u])
            ws.append(dist[k][u])
        u, v, w = np.concatenate(us), np.concatenate(vs), np.concatenate(ws)
        graph = sparse.csr_matrix((w, (u, v)), shape=(n, n))
        sources = np.unique(v[~flat[v]])
        _, pred, _ = csgraph.dijkstra(
            graph, directed=False, indices=sources, min_only=True, return_predecessors=True
        )
        cells = np.flatnonzero(flat)
        if np.any(pred[cells] < 0):
            raise RuntimeError("a flat has no outlet after depression filling")  # cannot happen on a filled DEM
        receiver[cells] = pred[cells]
    return receiver


def _accumulate(receiver: np.ndarray, weight: np.ndarray, progress: Optional[Progress]) -> np.ndarray:
    """Sum of ``weight`` over each cell and everything draining into it."""
    depth = _flow_depth(receiver)
    acc = weight.astype(np.float64).copy()
    order = np.argsort(-depth, kind="stable")  # deepest first: a cell's donors are all one step deeper
    counts = np.bincount(depth)[::-1]  # cells per depth, deepest first
    ends = np.cumsum(counts)
    for j in range(counts.size - 1):  # the last group, depth 0, drains nowhere
        cells = order[ends[j] - counts[j] : ends[j]]
        np.add.at(acc, receiver[cells], acc[cells])
        if j % 256 == 0:
            report(progress, j / counts.size, "flow accumulation")
    return acc


def _flow_depth(receiver: np.ndarray) -> np.ndarray:
    """Flow steps from each cell to where it leaves the DEM (0 for outlets): list ranking by pointer doubling."""
    pointer = np.where(receiver >= 0, receiver, np.arange(receiver.size))
    steps = (receiver >= 0).astype(np.int64)
    while True:
        nxt = pointer[pointer]
        if np.array_equal(nxt, pointer):
            return steps
        steps = steps + steps[pointer]  # an outlet has 0 steps, so finished chains stay unchanged
        pointer = nxt


def _direction_index(src: np.ndarray, dst: np.ndarray, cols: int) -> np.ndarray:
    """D8 direction index (see ``_OFFSETS``) of the step from flat index ``src`` to its neighbour ``dst``."""
    dr = dst // cols - src // cols
    dc = dst % cols - src % cols
    lookup = np.full((3, 3), -1, dtype=np.int64)
    for k, (r, c) in enumerate(_OFFSETS):
        lookup[r + 1, c + 1] = k
    return lookup[dr + 1, dc + 1]


def _main_donor(receiver: np.ndarray, acc: np.ndarray) -> np.ndarray:
    """For every cell, the neighbour draining into it with the largest accumulation (ties: lowest index); -1 if none."""
    n = receiver.size
    donors = np.flatnonzero(receiver >= 0)
    targets = receiver[donors]
    order = np.lexsort((donors, -acc[donors], targets))
    first = np.ones(order.size, dtype=bool)
    first[1:] = targets[order][1:] != targets[order][:-1]
    main = np.full(n, -1, dtype=np.int64)
    main[targets[order][first]] = donors[order][first]
    return main


def _half_basins(receiver: np.ndarray, acc: np.ndarray, valid: np.ndarray, threshold: float, cols: int) -> np.ndarray:
    """A key per cell: 2·(reach head) + side for stream basins, 2·(outlet) for basins without a stream; -1 nodata.

    Sides are decided along each reach's axis: its stream cells, extended above the channel head along the path of
    largest accumulation up to the divide, so that a headwater hollow is split into two sides as well.
    """
    n = receiver.size
    own = np.arange(n)
    stream = valid & (acc >= threshold)
    main_up = _main_donor(receiver, acc)
    drains = receiver >= 0

    # Reach of each stream cell: follow single-donor links upstream to the reach head. A stream cell's donors that
    # are streams are exactly those with acc ≥ threshold, and the largest donor is one of them if any is.
    stream_donor = stream & drains
    stream_donor[drains] &= stream[receiver[drains]]
    n_stream_donors = np.bincount(receiver[stream_donor], minlength=n)
    up = own.copy()
    single = stream & (n_stream_donors == 1)
    up[single] = main_up[single]
    head = _pointer_jump(up)

    # Axis extension: non-stream cells linked to a channel head through largest-donor steps only.
    is_main = np.zeros(n, dtype=bool)
    is_main[drains] = main_up[receiver[drains]] == own[drains]
    climb = own.copy()
    moves = valid & ~stream & is_main
    climb[moves] = receiver[moves]
    reaches_head = _pointer_jump(climb)
    axis = stream | (valid & stream[reaches_head])
    head[axis & ~stream] = head[reaches_head[axis & ~stream]]

    a_idx = np.flatnonzero(axis)
    k_out = np.zeros(n, dtype=np.int64)
    k_in = np.zeros(n, dtype=np.int64)
    out_ok = a_idx[drains[a_idx]]
    k_out[out_ok] = _direction_index(out_ok, receiver[out_ok], cols)
    in_ok = a_idx[main_up[a_idx] >= 0]
    k_in[in_ok] = _direction_index(in_ok, main_up[in_ok], cols)
    top = a_idx[main_up[a_idx] < 0]
    k_in[top] = (k_out[top] + 4) % 8
    leaving = a_idx[~drains[a_idx]]  # axis cells that leave the DEM: a nominal downstream direction
    k_out[leaving] = (k_in[leaving] + 4) % 8

    # First terminal (axis cell or outlet) downstream of every other cell, and the last cell before it.
    terminal = axis | (valid & ~drains)
    moving_idx = np.flatnonzero(valid & ~terminal)
    before_terminal = terminal[receiver[moving_idx]]
    step = own.copy()
    step[moving_idx[~before_terminal]] = receiver[moving_idx[~before_terminal]]
    last = _pointer_jump(step)

    key = np.full(n, -1, dtype=np.int64)
    key[a_idx] = 2 * head[a_idx] + 1
    plain_outlets = np.flatnonzero(valid & ~drains & ~axis)
    key[plain_outlets] = 2 * plain_outlets
    entry = last[moving_idx]
    entered = receiver[entry]
    onto_axis = axis[entered]
    key[moving_idx[~onto_axis]] = 2 * entered[~onto_axis]
    cells = moving_idx[onto_axis]
    s = entered[onto_axis]
    k_c = _direction_index(s, entry[onto_axis], cols)
    # Clockwise from the downstream direction (facing downstream: the right-hand side) up to the upstream one.
    # k_c can equal k_out only at an axis cell that leaves the DEM, whose k_out is nominal: that entry is "left".
    right = ((k_out[s] - k_c) % 8) < ((k_out[s] - k_in[s]) % 8)
    right &= k_c != k_out[s]
    key[cells] = 2 * head[s] + right.astype(np.int64)
    return key


def _components(key: np.ndarray, shape: tuple[int, int], neighbours: list[np.ndarray]) -> np.ndarray:
    """4-connected parts of equal ``key`` (-1 ignored); component ids 0..m-1, -1 for nodata."""
    n = key.size
    us, vs = [], []
    for k in (0, 6):  # E, S
        nb = neighbours[k]
        ok = (key >= 0) & (nb >= 0)
        ok[ok] = key[nb[ok]] == key[ok]
        us.append(np.flatnonzero(ok))
        vs.append(nb[ok])
    u, v = np.concatenate(us), np.concatenate(vs)
    graph = sparse.csr_matrix((np.ones(u.size, dtype=np.int8), (u, v)), shape=(n, n))
    _, comp = csgraph.connected_components(graph, directed=False)
    valid_idx = np.flatnonzero(key >= 0)
    out = np.full(n, -1, dtype=np.int64)
    _, out[valid_idx] = np.unique(comp[valid_idx], return_inverse=True)
    return out


def _boundaries(
    comp: np.ndarray, neighbours: list[np.ndarray], metrics: GridMetrics, shape: tuple[int, int]
) -> sparse.coo_matrix:
    """Shared boundary length (m) between every pair of 4-adjacent units, as a symmetric sparse matrix."""
    m = int(comp.max()) + 1
    row = np.repeat(np.arange(shape[0]), shape[1])
    dy = np.abs(metrics.dy)
    dx = np.abs(metrics.dx)
    dx_between = 0.5 * (dx[:-1] + dx[1:]) if dx.size > 1 else dx
    us, vs, ls = [], [], []
    for k in (0, 6):
        nb = neighbours[k]
        ok = (comp >= 0) & (nb >= 0)
        ok[ok] = (comp[nb[ok]] >= 0) & (comp[nb[ok]] != comp[ok])
        cells = np.flatnonzero(ok)
        us.append(comp[cells])
        vs.append(comp[nb[cells]])
        ls.append(dy[row[cells]] if k == 0 else dx_between[row[cells]])
    u, v, length = np.concatenate(us), np.concatenate(vs), np.concatenate(ls)
    half = sparse.coo_matrix((length, (u, v)), shape=(m, m)).tocsr()
    return (half + half.T).tocoo()


def _merge_small(
    areas: np.ndarray, boundary: sparse.coo_matrix, min_area: float, progress: Optional[Progress]
) -> np.ndarray:
    """Root unit of every unit after merging units below ``min_area`` into their longest-boundary neighbour."""
    m = areas.size
    area = areas.astype(np.float64).copy()
    adjacency: list[dict[int, float]] = [{} for _ in range(m)]
    for a, b, length in zip(boundary.row.tolist(), boundary.col.tolist(), boundary.data.tolist()):
        adjacency[a][b] = length
    target = np.arange(m)
    heap = [(float(area[i]), i) for i in np.flatnonzero(area < min_area).tolist()]
    heapq.heapify(heap)
    initial = max(len(heap), 1)
    merges = 0
    while heap:
        a_u, u = heapq.heappop(heap)
        if target[u] != u or a_u != area[u]:
            continue  # merged already, or an outdated entry
        links = adjacency[u]
        if not links:
            continue  # an isolated unit: nothing to merge into
        v = min(links, key=lambda w: (-links[w], w))
        for w, length in links.items():
            adjacency[w].pop(u, None)
            if w != v:
                adjacency[v][w] = adjacency[v].get(w, 0.0) + length
                adjacency[w][v] = adjacency[w].get(v, 0.0) + length
        adjacency[u] = {}
        target[u] = v
        area[v] += area[u]
        if area[v] < min_area:
            heapq.heappush(heap, (float(area[v]), v))
        merges += 1
        if merges % 2000 == 0:
            report(progress, merges / initial, "merging small slope units")
    return _pointer_jump(target)


def delineate_slope_units(
    dem: np.ndarray,
    transform,
    min_area_m2: float,
    accumulation_threshold_m2: Optional[float] = None,
    crs=None,
    nodata: Optional[float] = None,
    progress: Optional[Progress] = None,
) -> np.ndarray:
    """Slope-unit labels (int32, 1..n; 0 on nodata) of ``dem`` (metres) on its own grid.

    ``min_area_m2``: units smaller than this are merged into a neighbour. ``accumulation_threshold_m2``: the
    contributing area where streams begin (default :func:`default_accumulation_threshold`). ``crs=None`` means
    the transform is in metres; a geographic CRS gets metric cell sizes per row. NaN, masked and ``nodata`` cells
    are outside every unit.
    """
    from .terrain import _as_float_dem

    z2 = _as_float_dem(dem, nodata)
    shape = z2.shape
    if not (isinstance(min_area_m2, (int, float, np.number)) and math.isfinite(min_area_m2) and min_area_m2 >= 0):
        raise ValueError(f"min_area_m2 must be a finite area ≥ 0 in m², got {min_area_m2!r}")
    metrics = grid_metrics(transform, shape[0], crs)
    cell_area_rows = metrics.cell_area
    if accumulation_threshold_m2 is None:
        threshold = default_accumulation_threshold(min_area_m2, float(cell_area_rows.max()))
    else:
        threshold = float(accumulation_threshold_m2)
        if not (math.isfinite(threshold) and threshold > float(cell_area_rows.max())):
            raise ValueError(
                f"accumulation_threshold_m2 must exceed one cell's area ({float(cell_area_rows.max()):.4g} m²), "
                f"got {accumulation_threshold_m2!r}"
            )
    z = z2.ravel()
    valid = np.isfinite(z)
    if not valid.any():
        raise ValueError(f"dem has no valid cell: all {z.size} cells are nodata ({nodata}) or non-finite")

    neighbours = [_neighbour_index(shape, k) for k in range(8)]
    edge = np.zeros(z.size, dtype=bool)
    for nb in neighbours:
        edge |= nb < 0
        inside = nb >= 0
        edge[inside] |= ~valid[nb[inside]]
    edge &= valid

    report(progress, 0.0, "filling depressions")
    filled = _fill_depressions(z, valid, neighbours, edge, scaled(progress, 0.0, 0.4))
    report(progress, 0.4, "flow directions")
    receiver = _flow_receivers(filled, valid, neighbours, edge, metrics, shape)
    report(progress, 0.5, "flow accumulation")
    cell_area = np.where(valid, np.repeat(cell_area_rows, shape[1]), 0.0)
    acc = _accumulate(receiver, cell_area, scaled(progress, 0.5, 0.6))
    report(progress, 0.6, "streams and half-basins")
    key = _half_basins(receiver, acc, valid, threshold, shape[1])
    comp = _components(key, shape, neighbours)
    report(progress, 0.7, "merging small slope units")
    comp_valid = comp[valid]
    areas = np.bincount(comp_valid, weights=cell_area[valid])
    boundary = _boundaries(comp, neighbours, metrics, shape)
    root = _merge_small(areas, boundary, float(min_area_m2), scaled(progress, 0.7, 0.95))
    unit = root[comp_valid]
    _, first = np.unique(unit, return_index=True)
    order = np.argsort(first, kind="stable")
    new_id = np.empty(order.size, dtype=np.int32)
    new_id[order] = np.arange(1, order.size + 1, dtype=np.int32)
    _, inverse = np.unique(unit, return_inverse=True)
    labels = np.zeros(z.size, dtype=np.int32)
    labels[valid] = new_id[inverse]
    report(progress, 1.0, f"{order.size} slope units")
    return labels.reshape(shape)


def slope_units_to_polygons(labels: np.ndarray, transform, crs):
    """One (Multi)Polygon per slope unit: a GeoDataFrame with ``su_id``, ``area_m2`` and ``geometry``.

    Areas come from the raster cells (metric per row for a geographic CRS), so they equal the units' pixel areas.
    """
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape as to_shape
    from shapely.ops import unary_union

    arr = np.asarray(labels)
    if arr.ndim != 2:
        raise ValueError(f"labels must be a 2-D array, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers (0 = no unit), got dtype {arr.dtype}")
    if arr.size and arr.min() < 0:
        raise ValueError(f"labels must be ≥ 0 (0 = no unit), found {int(arr.min())}")
    arr = arr.astype(np.int32)
    metrics = grid_metrics(transform, arr.shape[0], crs)
    cell_area = np.repeat(metrics.cell_area, arr.shape[1])
    flat = arr.ravel()
    areas = np.bincount(flat, weights=cell_area, minlength=int(flat.max()) + 1 if flat.size else 1)

    parts: dict[int, list] = {}
    for geom, value in features.shapes(arr, mask=arr > 0, connectivity=4, transform=transform):
        parts.setdefault(int(value), []).append(to_shape(geom))
    ids = sorted(parts)
    geoms = []
    for su in ids:
        pieces = parts[su]
        geom = pieces[0] if len(pieces) == 1 else unary_union(pieces)
        if not geom.is_valid:
            geom = geom.buffer(0)
        geoms.append(geom)
    return gpd.GeoDataFrame(
        {"su_id": np.asarray(ids, dtype=np.int64), "area_m2": areas[ids] if ids else np.zeros(0)},
        geometry=geoms,
        crs=crs,
    )


def slope_units_from_file(
    dem_path: str | os.PathLike,
    min_area_m2: float,
    accumulation_threshold_m2: Optional[float] = None,
    band: int = 1,
    crs=None,
    progress: Optional[Progress] = None,
):
    """Delineate half-basin slope units of a DEM file; a GeoDataFrame as :func:`slope_units_to_polygons` gives.

    ``crs`` overrides the file's CRS (for files without one).
    """
    import rasterio

    with rasterio.open(dem_path) as src:
        if not 1 <= band <= src.count:
            raise ValueError(f"band {band} does not exist in {dem_path}: it has bands 1..{src.count}")
        dem = src.read(band, masked=True)
        transform = src.transform
        grid_crs = crs if crs is not None else src.crs
    if grid_crs is None:
        raise ValueError(f"{dem_path} has no CRS: give one")
    labels = delineate_slope_units(
        dem, transform, min_area_m2, accumulation_threshold_m2, crs=grid_crs, progress=scaled(progress, 0.0, 0.9)
    )
    report(progress, 0.92, "Polygons")
    return slope_units_to_polygons(labels, transform, grid_crs)
