"""``mram-accel delta``: the thermal stability Δ an STT-MRAM needs for a retention time and BER.

Example (the paper's global buffer, Section V.C)::

    mram-accel delta --retention 3s --ber 1e-8                 # physical τ = 1 ns
    mram-accel delta --retention 3s --ber 1e-8 --tau paper     # τ = 1 s, reproduces the paper's 19.5 -> 27.5
    mram-accel delta --retention 3y --ber 1e-9 --read-ratio 0.3 --write-ratio 2 --json

Prints Δ_scaled (eq. 14 of stt-ai-mishty-sadi.txt), Δ_PT_GB (eq. 17) and Δ_PT_MAX (eq. 18), and, when
``--read-ratio`` / ``--write-ratio`` are given, the longest read pulse (eq. 15, at Δ_scaled) and the
shortest write pulse (eq. 16, at Δ_PT_MAX). Model and decisions: :mod:`model.stt_ai.stt_mram`.
"""

from __future__ import annotations

import json

from model.stt_ai import stt_mram as stt
from model.checks import parse_real
from scripts.common.options import format_duration, parse_duration, parse_fraction, parse_probability, parse_temperature

__all__ = ["register", "run_delta"]


#: Largest ``--write-ratio`` I_w/I_c: STT writes run at 1.5-3 x I_c; beyond 100 eq. (16) has no meaning left.
MAX_WRITE_RATIO = 100.0

def register(sub) -> None:
    """Add the ``delta`` sub-command to ``sub`` (an ``argparse`` sub-parsers object)."""
    p = sub.add_parser("delta", help="thermal stability Δ for a retention time and BER, with PT guard-band",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--retention", required=True, metavar="TIME",
                   help="required retention time with unit, e.g. 3s, 10ms, 3y (units: ps ns us ms s min h d y)")
    p.add_argument("--ber", required=True, metavar="P", help="target retention bit error rate, in (0, 1)")
    p.add_argument("--tau", default="1ns", metavar="TIME",
                   help="thermal attempt time τ of eqs. 14-15 (default 1ns, physical); 'paper' = 1s, the value "
                        "that reproduces the paper's Δ numbers")
    g = p.add_argument_group("guard-band (eqs. 17-18)")
    g.add_argument("--sigma", default="2.1%", metavar="FRAC",
                   help="process σ of Δ as a fraction of the mean, e.g. 2.1%% or 0.021 (default 2.1%%), in [0, 25%%)")
    g.add_argument("--t-hot", default="393K", metavar="TEMP", help="hottest temperature (default 393K = 120C)")
    g.add_argument("--t-cold", default="253K", metavar="TEMP",
                   help="coldest temperature (default 253K; for negative Celsius write --t-cold=-20C)")
    g.add_argument("--t-nom", default="300K", metavar="TEMP",
                   help="nominal temperature (default 300K; the paper does not state it)")
    g.add_argument("--no-guard-band", action="store_true", help="report Δ_scaled only")
    d = p.add_argument_group("pulse widths (eqs. 15-16), given when the current ratios are set")
    d.add_argument("--read-ratio", metavar="IR_IC", help="read current over critical current, in [0, 1)")
    d.add_argument("--rd-rate", metavar="P", help="target read-disturb probability per read (default: --ber)")
    d.add_argument("--write-ratio", metavar="IW_IC", help=f"write current over critical current, in (1, {MAX_WRITE_RATIO:g}]")
    d.add_argument("--wer", metavar="P", help="target write error rate (default: --ber)")
    d.add_argument("--tau-write", default="1ns", metavar="TIME",
                   help="characteristic switching time of eq. 16 (default 1ns)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run_delta)


def run_delta(args) -> int:
    """Parse and check every value (ValueError names the option), compute, print; returns 0."""
    retention = parse_duration(args.retention, "--retention")
    ber = parse_probability(args.ber, "--ber")
    tau = stt.TAU_PAPER_FIT_S if str(args.tau).strip().lower() == "paper" else parse_duration(args.tau, "--tau")
    guard = None
    if not args.no_guard_band:
        sigma = parse_fraction(args.sigma, "--sigma", upper=1 / stt.N_SIGMA)
        t_hot = parse_temperature(args.t_hot, "--t-hot")
        t_cold = parse_temperature(args.t_cold, "--t-cold")
        t_nom = parse_temperature(args.t_nom, "--t-nom")
        if not t_cold <= t_nom <= t_hot:
            raise ValueError(f"temperatures must satisfy --t-cold <= --t-nom <= --t-hot, got {t_cold:g} K, "
                             f"{t_nom:g} K, {t_hot:g} K")
        guard = stt.GuardBand(sigma, t_hot, t_cold, t_nom)
    if args.rd_rate is not None and args.read_ratio is None:
        raise ValueError("--rd-rate needs --read-ratio (I_r/I_c)")
    if args.wer is not None and args.write_ratio is None:
        raise ValueError("--wer needs --write-ratio (I_w/I_c)")
    device = None
    if args.read_ratio is not None or args.write_ratio is not None:
        read_ratio = None if args.read_ratio is None else \
            parse_real(args.read_ratio, "--read-ratio", min=0, max=1, max_open=True)
        write_ratio = None if args.write_ratio is None else \
            parse_real(args.write_ratio, "--write-ratio", min=1, max=MAX_WRITE_RATIO, min_open=True)
        device = stt.DeviceParams(
            i_read_ratio=read_ratio,
            rd_rate=ber if args.rd_rate is None else parse_probability(args.rd_rate, "--rd-rate"),
            i_write_ratio=write_ratio,
            wer=ber if args.wer is None else parse_probability(args.wer, "--wer"),
            tau_write_s=parse_duration(args.tau_write, "--tau-write"))
    try:
        res = stt.design_delta(retention, ber, tau, guard, device)
    except ValueError as e:
        raise ValueError(f"--retention {args.retention} with --ber {args.ber} and --tau {args.tau}: {e}") from None

    if args.json:
        out = res.as_dict()
        if device is not None:
            out["device"] = {"i_read_ratio": device.i_read_ratio, "rd_rate": device.rd_rate,
                             "i_write_ratio": device.i_write_ratio, "wer": device.wer,
                             "tau_write_s": device.tau_write_s}
        print(json.dumps(out, indent=2))
        return 0
    lines = [f"retention {format_duration(retention)} ({retention:.4g} s), BER {ber:g}, tau {format_duration(tau)}",
             f"Delta_scaled = {res.delta_scaled:.3f}   (eq. 14, worst case: hot, -4 sigma)"]
    if guard is not None:
        lines += [f"Delta_PT_GB  = {res.delta_pt_gb:.3f}   (eq. 17: sigma {guard.sigma_rel * 100:g} %, "
                  f"T_hot {guard.t_hot_k:g} K, T_nom {guard.t_nom_k:g} K)",
                  f"Delta_PT_MAX = {res.delta_pt_max:.3f}   (eq. 18: T_cold {guard.t_cold_k:g} K)"]
    if res.read_pulse_s is not None:
        lines.append(f"read pulse  <= {format_duration(res.read_pulse_s)}   (eq. 15 at Delta_scaled, "
                     f"I_r/I_c {device.i_read_ratio:g}, P_RD {device.rd_rate:g})")
    if res.write_pulse_s is not None:
        at = "Delta_PT_MAX" if guard is not None else "Delta_scaled"
        lines.append(f"write pulse >= {format_duration(res.write_pulse_s)}   (eq. 16 at {at}, "
                     f"I_w/I_c {device.i_write_ratio:g}, WER {device.wer:g}, "
                     f"tau {format_duration(device.tau_write_s)})")
    print("\n".join(lines))
    return 0
