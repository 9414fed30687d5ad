package flows

// Explanation is what triage saw in one message, for the people who tune
// the rules (the studio's "why" panel, `flows triage -v`).
type Explanation struct {
	// Sentences are the message's sentences as triage read them.
	Sentences []ExplainedSentence `json:"sentences"`
	// Result is the message's triage on its own.
	Result TriageResult `json:"result"`
}

// ExplainedSentence is one sentence: its folded text and its words.
type ExplainedSentence struct {
	Text  string          `json:"text"`
	Words []ExplainedWord `json:"words"`
}

// ExplainedWord is one word as the tokenizer read it.
type ExplainedWord struct {
	Surface string `json:"surface"`
	Lemma   string `json:"lemma"`
	Reading string `json:"reading,omitempty"`
	// Grammar marks particles, auxiliaries and other grammar words.
	Grammar bool `json:"grammar,omitempty"`
}

// Explain reads one message the way triage does and says what it saw.
func (f *Flow) Explain(text string) Explanation {
	m := f.triage.read(text)
	var ex Explanation
	for _, sn := range m.a.sentences {
		es := ExplainedSentence{Text: sn.text}
		for _, t := range sn.toks {
			es.Words = append(es.Words, ExplainedWord{Surface: t.surf, Lemma: t.lemma, Reading: t.yomi, Grammar: t.fn})
		}
		ex.Sentences = append(ex.Sentences, es)
	}
	ex.Result = f.triageMessages([]*message{m})
	return ex
}
