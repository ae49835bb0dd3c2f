"""The accessibility statement (RGAA 4.1 model) and the conformity mention shown in every footer."""
