"""missionctl.worktrees: git branches and worktrees, one per agent."""

from missionctl.worktrees.tree import AgentWorktrees, WorktreeStatus

__all__ = ["AgentWorktrees", "WorktreeStatus"]
