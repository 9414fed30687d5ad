package flows

import "testing"

func TestFromRomaji(t *testing.T) {
	tests := []struct{ in, want string }{
		{"kareshi ni nagurareta", "かれし に なぐられた"},
		{"mou owari ni suru. kyou", "もう おわり に する きょう"},
		{"oyaji ni mata nagurareta", "おやじ に また なぐられた"},
		{"mata kitta", "また きった"},
		{"tomodachi ga kusuri takusan nonde okinai", "ともだち が くすり たくさん のんで おきない"},
		{"shinitai", "しにたい"},
		{"kinou nomikai no ato senpai ni muriyari sareta", "きのう のみかい の あと せんぱい に むりやり された"},
		// English is left alone, even where its words happen to spell kana.
		{"I want to die", ""},
		{"no time to die", ""},
		{"made in Japan", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := fromRomaji(tt.in); got != tt.want {
			t.Errorf("fromRomaji(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzFromRomaji(f *testing.F) {
	for _, s := range []string{"kareshi ni nagurareta", "tchotto", "n'n", "I want", "shinitai desu"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = fromRomaji(s) // must not panic, whatever the bytes
	})
}
