"""Stage `membership` of every backdoor audit: which candidates each victim trains on —
balanced complementary masks, or each (victim, candidate) independently with probability ½
(``victims.membership: bernoulli``, the one-run DP audit's canaries)."""

from leakaudit.backdoor.targets import membership_table
from tasks._stage import stage


def main() -> None:
    with stage("membership") as s:
        p = s.params
        ids = s.read("candidates").candidate_id.to_numpy()
        table = membership_table(ids, p.victims.n_victims, p.base.seed, p.victims.membership)
        s.write("membership", table)
        s.metrics["members_per_victim"] = float(table.member.sum() / p.victims.n_victims)


if __name__ == "__main__":
    main()
