"""Live updates: the socket.io server, rooms, fan-out across processes, presence and the
programme clock."""
