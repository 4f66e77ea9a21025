"""Runs on Slurm: each run a job, followed in the agent's terminal; the org acts on its jobs."""
