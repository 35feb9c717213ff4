-- The satisfaction goals of a survey plan (issue 17): the index levels its charts draw and its
-- report holds the units to, edited by admins. Replaces the goals once written into the code
-- ("Mục tiêu 2020: 80%"). Existing plans get the national programme's goals (Nghị quyết
-- 76/NQ-CP: above 80% by 2025, above 90% by 2030; see sipas_core::goals), as new plans do.
CREATE TABLE plan_goals (
    plan_id  integer  NOT NULL REFERENCES survey_plans (id) ON DELETE CASCADE,
    position smallint NOT NULL CHECK (position BETWEEN 1 AND 4),
    label    text     NOT NULL CHECK (length(label) BETWEEN 1 AND 60),
    -- hundredths of a percent: 8000 is 80,00%
    points   integer  NOT NULL CHECK (points BETWEEN 1 AND 10000),
    basis    text     NOT NULL DEFAULT '' CHECK (length(basis) <= 400),
    PRIMARY KEY (plan_id, position)
);

INSERT INTO plan_goals (plan_id, position, label, points, basis)
SELECT p.id, g.position, g.label, g.points, b.basis
FROM survey_plans p
CROSS JOIN (VALUES
    (1, 'Mục tiêu 2025: 80%', 8000),
    (2, 'Mục tiêu 2030: 90%', 9000)
) AS g (position, label, points)
CROSS JOIN (VALUES (
    'Nghị quyết 76/NQ-CP ngày 15/7/2021 của Chính phủ (Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021–2030): mức độ hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan hành chính nhà nước đạt trên 80% vào năm 2025 và trên 90% vào năm 2030.'
)) AS b (basis);
