"""web — 门户外壳: the signed-in home page, navigation, language switch and shared templates."""
